"""Entity tags and conditional requests (RFC 9110 §8.8.3, §13)."""

from __future__ import annotations

from app.core.errors import PreconditionFailed


def etag_for(version: int) -> str:
    """A strong ETag. The version changes on every write, so it names one representation."""
    return f'"{version}"'


def _tags(header: str) -> list[str]:
    return [part.strip().removeprefix("W/") for part in header.split(",") if part.strip()]


def if_none_match_hits(header: str | None, current: str) -> bool:
    """True when `If-None-Match` matches, i.e. the client's copy is current (→ 304)."""
    if not header:
        return False
    tags = _tags(header)
    return "*" in tags or current in tags


class IfMatch:
    """A parsed `If-Match`: None when the header is absent (no precondition)."""

    def __init__(self, header: str | None) -> None:
        self.tags = None if header is None else [t.strip() for t in header.split(",") if t.strip()]

    def check(self, current: str) -> None:
        """Raise 412 unless the header is absent, `*`, or strongly matches `current`."""
        if self.tags is None or "*" in self.tags:
            return
        # Weak tags never satisfy If-Match (strong comparison).
        if current not in [t for t in self.tags if not t.startswith("W/")]:
            raise PreconditionFailed()
