"""vCard in (2.1, 3.0, 4.0) and out (3.0), through vobject.

Reading: the file is cut into cards at their BEGIN/END lines and each card is handed to
vobject on its own, so a broken card is one record's error rather than the end of the file.
Before that, three cheap guards keep a hostile file from costing the server more than its size:
binary properties we never use (PHOTO, LOGO, SOUND, KEY) are dropped unread; a card over
MAX_CARD_CHARS or MAX_CARD_LINES is refused; and every content line must have the shape of
RFC 6350 §3.3 (`[group.]NAME[;param[=value[,value]]]*:`), checked with possessive quantifiers.
That last guard is not optional: vobject's line regex backtracks exponentially on a malformed
parameter list (measured: 22 `P=1;` parameters followed by `;:` take 4 s, each one more
doubles it). Lines the guard accepts are a subset of those vobject accepts.

Writing: vCard 3.0 (RFC 2426) — vobject serialises and validates 3.0 natively, and it is the
version every address book imports (Apple, Google, Outlook); 4.0 adds nothing we export.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from typing import Any

import vobject
from vobject.base import Component, ContentLine

from app.core.errors import ContentTooLarge
from app.transfer.records import Record, make_record, parse_uuid

MAX_CARD_CHARS = 100_000
MAX_CARD_LINES = 500
_SKIPPED = {"PHOTO", "LOGO", "SOUND", "KEY"}

_NAME = r"[A-Za-z0-9_-]++"
_VALUE = r'(?:"[^"]*+"|[^";:,]*+)'
_CONTENT_LINE = re.compile(rf"(?:{_NAME}\.)?{_NAME}(?:;{_NAME}(?:={_VALUE}(?:,{_VALUE})*+)?)*+:")


def looks_like_vcard(text: str) -> bool:
    for line in io.StringIO(text):
        if line.strip():
            return line.strip().upper().startswith("BEGIN:VCARD")
    return False


def _property(line: str) -> str:
    name = re.split(r"[;:]", line, maxsplit=1)[0]
    return name.rsplit(".", 1)[-1].strip().upper()


def split_cards(text: str, max_records: int) -> Iterator[tuple[int, str | None, str | None]]:
    """(position, card text, error) for each card, in file order."""
    position = 0
    depth = 0
    lines: list[str] = []
    chars = 0
    content_lines = 0
    error: str | None = None
    logical = ""  # the current content line, unfolded, for the shape check
    skipping = False  # inside a dropped binary property
    qp_soft_break = False  # vCard 2.1 quoted-printable: a line ending in `=` goes on

    def check(line: str) -> str | None:
        if line and not _CONTENT_LINE.match(line):
            return f"The card has a malformed line: {line[:60]!r}."
        return None

    for raw in io.StringIO(text, newline=None):
        line = raw.rstrip("\n")
        stripped = line.strip().upper()
        if depth == 0:
            if stripped != "BEGIN:VCARD":
                continue  # blank lines, or text between cards
            position += 1
            if position > max_records:
                raise ContentTooLarge(
                    f"The file holds more than {max_records} contacts; split it into smaller files."
                )
            depth, lines, chars, content_lines, error = 1, [line], len(line), 1, None
            logical, skipping, qp_soft_break = "", False, False
            continue
        if not line.strip():
            continue
        continued = line[0] in " \t" or qp_soft_break
        if continued:
            if skipping:
                continue
            if not qp_soft_break:
                logical += line[1:]
            qp_soft_break = qp_soft_break and line.endswith("=")
        else:
            error = error or check(logical)
            skipping = depth == 1 and _property(line) in _SKIPPED
            logical = "" if skipping else line
            if skipping:
                continue
            head = line.split(":", 1)[0].upper()
            qp_soft_break = "QUOTED-PRINTABLE" in head and line.endswith("=")
            content_lines += 1
            if stripped == "BEGIN:VCARD":
                depth += 1  # a vCard 3.0 AGENT embeds another card
            elif stripped == "END:VCARD":
                depth -= 1
        chars += len(line)
        if error is None and (chars > MAX_CARD_CHARS or content_lines > MAX_CARD_LINES):
            error = (
                f"The card is too large (over {MAX_CARD_LINES} lines or "
                f"{MAX_CARD_CHARS} characters)."
            )
        if error is None:
            lines.append(line)
        else:
            lines = []
        if depth == 0:
            error = error or check(logical)
            yield position, (None if error else "\r\n".join(lines) + "\r\n"), error
    if depth > 0:
        yield position, None, "The card has no END:VCARD line."


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return " ".join(v for v in value if isinstance(v, str)) or None
    return None


def _lines(card: Component, name: str) -> list[ContentLine]:
    return [line for line in card.contents.get(name, []) if isinstance(line, ContentLine)]


def _preferred_first(lines: list[ContentLine]) -> list[str]:
    def preferred(line: ContentLine) -> bool:
        types = [t.upper() for value in line.params.get("TYPE", []) for t in value.split(",")]
        singles = [s.upper() for s in getattr(line, "singletonparams", [])]
        return "PREF" in types or "PREF" in line.params or "PREF" in singles

    ordered = sorted(lines, key=lambda line: not preferred(line))
    return [v for v in (_text(line.value) for line in ordered) if v]


def _first(card: Component, name: str) -> str | None:
    for line in _lines(card, name):
        value = _text(line.value)
        if value:
            return value
    return None


def _full_name(card: Component) -> str | None:
    name = _first(card, "fn")
    if name and name.strip():
        return name
    for line in _lines(card, "n"):
        n = line.value
        parts = [
            _text(getattr(n, attr, None)) for attr in ("prefix", "given", "additional", "family")
        ]
        parts.append(_text(getattr(n, "suffix", None)))
        joined = " ".join(p.strip() for p in parts if p and p.strip())
        if joined:
            return joined
    return _first(card, "nickname")


def read_card(position: int, text: str) -> Record:
    try:
        card = vobject.readOne(text, allowQP=True)
        org = next((line.value for line in _lines(card, "org")), None)
        tags = [
            tag
            for line in _lines(card, "categories")
            for tag in (line.value if isinstance(line.value, list) else [line.value])
            if isinstance(tag, str)
        ]
        return make_record(
            position,
            name=_full_name(card),
            emails=_preferred_first(_lines(card, "email")),
            phones=_preferred_first(_lines(card, "tel")),
            tags=tags,
            contact_id=parse_uuid(_first(card, "uid")),
            organization=org[0] if isinstance(org, list) and org else _text(org),
            title=_first(card, "title"),
            notes=_first(card, "note"),
        )
    except Exception as exc:  # vobject raises many kinds (ParseError, ValueError, …)
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return Record(position, error=f"The card could not be read: {detail}")


def read_vcards(text: str, max_records: int) -> list[Record]:
    records = []
    for position, card, error in split_cards(text, max_records):
        if card is None:
            records.append(Record(position, error=error))
        else:
            records.append(read_card(position, card))
    return records


# --- export ---


def _split_name(full_name: str) -> tuple[str, str]:
    """(family, given) for N, which 3.0 requires: the last word is taken as the family name."""
    words = full_name.split()
    if len(words) < 2:
        return "", full_name
    return words[-1], " ".join(words[:-1])


def write_card(row: Any) -> str:
    card = vobject.vCard()
    card.add("version").value = "3.0"
    card.add("prodid").value = "-//Rapport//Contacts export//EN"
    card.add("uid").value = f"urn:uuid:{row.id}"
    card.add("fn").value = row.full_name
    family, given = _split_name(row.full_name)
    card.add("n").value = vobject.vcard.Name(family=family, given=given)
    if row.email:
        card.add("email").value = row.email
    if row.phone:
        card.add("tel").value = row.phone
    if row.organization:
        card.add("org").value = [row.organization]
    if row.title:
        card.add("title").value = row.title
    if row.notes:
        card.add("note").value = row.notes
    if row.tags:
        card.add("categories").value = list(row.tags)
    text: str = card.serialize()
    return text


def write_cards(rows: Sequence[Any]) -> str:
    return "".join(write_card(row) for row in rows)
