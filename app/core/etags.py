"""Entity tags and conditional requests (RFC 9110 §8.8.3, §13).

An ETag is `"<version>"`, or `"<version>.<digest>"` when the representation also holds
computed parts (an ask's etiquette warnings) that change without the record changing.
`If-None-Match` compares whole tags, so a client never keeps a stale computed part;
`If-Match` compares the version, which is what guards the stored record against lost updates.
"""

from __future__ import annotations

import hashlib

from app.core.errors import PreconditionFailed


def etag_for(version: int, computed: str | None = None) -> str:
    if computed is None:
        return f'"{version}"'
    digest = hashlib.sha256(computed.encode()).hexdigest()[:8]
    return f'"{version}.{digest}"'


def _tags(header: str) -> list[str]:
    return [part.strip() for part in header.split(",") if part.strip()]


def if_none_match_hits(header: str | None, current: str) -> bool:
    """True when `If-None-Match` matches, i.e. the client's copy is current (→ 304)."""
    if not header:
        return False
    tags = [t.removeprefix("W/") for t in _tags(header)]
    return "*" in tags or current in tags


def _version_of(tag: str) -> str | None:
    if tag.startswith("W/") or len(tag) < 2 or tag[0] != '"' or tag[-1] != '"':
        return None  # weak tags never satisfy If-Match (strong comparison)
    return tag[1:-1].split(".", 1)[0]


class IfMatch:
    """A parsed `If-Match`: no precondition when the header is absent."""

    def __init__(self, header: str | None) -> None:
        self.tags = None if header is None else _tags(header)

    def check(self, version: int) -> None:
        """Raise 412 unless the header is absent, `*`, or names the record's current version."""
        if self.tags is None or "*" in self.tags:
            return
        if str(version) not in {_version_of(tag) for tag in self.tags}:
            raise PreconditionFailed()
