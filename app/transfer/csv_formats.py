"""CSV in (Google Contacts, both layouts; Outlook; LinkedIn connections; our own) and out.

A layout is recognised by its header row, which may follow a few lines of preamble (LinkedIn
writes "Notes:" and a paragraph first), never by the file's name.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from app.core.errors import ContentTooLarge, Unprocessable
from app.transfer.records import Record, make_record, parse_uuid
from app.transfer.text import FILE_FIELD

# Rows before the header that are searched for it (LinkedIn's preamble is 3–4 lines).
HEADER_SEARCH_ROWS = 30

Cell = Callable[[str], str]


def _is_cjk(text: str) -> bool:
    return all(unicodedata.east_asian_width(ch) in {"W", "F"} for ch in text)


def _name(*parts: str) -> str:
    """Given … family, joined by spaces; a name written wholly in CJK script reads family name
    first with no spaces (小龍 + 李 → 李小龍)."""
    words = [p.strip() for p in parts if p and p.strip()]
    if len(words) > 1 and all(_is_cjk(w) for w in words):
        return "".join([words[-1], *words[:-1]])
    return " ".join(words)


def _numbered(cell: Cell, header: set[str], pattern: str) -> list[str]:
    """Every `E-mail 1 - Value`, `E-mail 2 - Value`, … in order; Google packs several values of
    one kind into a cell, separated by ` ::: `."""
    values: list[str] = []
    number = 1
    while pattern.format(number).casefold() in header:
        values.extend(cell(pattern.format(number)).split(" ::: "))
        number += 1
    return values


# Google's system groups: three are circles, the rest (My Contacts, Starred) say nothing.
_GOOGLE_CIRCLES = {"friends": "friend", "family": "family", "coworkers": "coworker"}


def _google_groups(value: str) -> tuple[list[str], str | None]:
    tags, circle = [], None
    for group in value.split(" ::: "):
        group = group.strip()
        if group.startswith("*"):
            circle = circle or _GOOGLE_CIRCLES.get(group[1:].strip().casefold())
        elif group:
            tags.append(group)
    return tags, circle


def _google(position: int, cell: Cell, header: set[str]) -> Record:
    legacy = "group membership" in header or "given name" in header
    if legacy:
        name = cell("Name") or _name(
            cell("Given Name"), cell("Additional Name"), cell("Family Name")
        )
        groups = cell("Group Membership")
        org, title = cell("Organization 1 - Name"), cell("Organization 1 - Title")
    else:
        name = _name(cell("First Name"), cell("Middle Name"), cell("Last Name"))
        groups = cell("Labels")
        org, title = cell("Organization Name"), cell("Organization Title")
    tags, circle = _google_groups(groups)
    return make_record(
        position,
        name=name or cell("Nickname"),
        emails=_numbered(cell, header, "E-mail {} - Value"),
        phones=_numbered(cell, header, "Phone {} - Value"),
        tags=tags,
        organization=org,
        title=title,
        notes=cell("Notes"),
        circle=circle,
        field=cell("Occupation") if legacy else None,
    )


_OUTLOOK_PHONES = (
    "Mobile Phone",
    "Business Phone",
    "Primary Phone",
    "Home Phone",
    "Business Phone 2",
    "Home Phone 2",
    "Company Main Phone",
    "Other Phone",
)


def _outlook(position: int, cell: Cell, header: set[str]) -> Record:
    # Outlook's `Title` is the honorific (Dr., Ms.); the job title is `Job Title`.
    return make_record(
        position,
        name=_name(cell("First Name"), cell("Middle Name"), cell("Last Name"), cell("Suffix"))
        or cell("Nickname"),
        emails=[cell("E-mail Address"), cell("E-mail 2 Address"), cell("E-mail 3 Address")],
        phones=[cell(column) for column in _OUTLOOK_PHONES],
        tags=re.split(r"[;,]", cell("Categories")),
        organization=cell("Company"),
        title=cell("Job Title"),
        notes=cell("Notes"),
    )


def _linkedin(position: int, cell: Cell, header: set[str]) -> Record:
    connected = cell("Connected On")
    url = cell("URL")
    return make_record(
        position,
        name=_name(cell("First Name"), cell("Last Name")),
        emails=[cell("Email Address")],
        organization=cell("Company"),
        title=cell("Position"),
        circle="online",
        how_met=f"Connected on LinkedIn on {connected}" if connected else "Connected on LinkedIn",
        notes=f"LinkedIn: {url}" if url else None,
    )


# --- our own layout, written by export ---

RAPPORT_COLUMNS = (
    "Rapport ID",
    "Full Name",
    "Email",
    "Phone",
    "Organization",
    "Title",
    "Field",
    "Circle",
    "Role",
    "How Met",
    "Tags",
    "Notes",
)
TAG_SEPARATOR = " ::: "  # Google's; a tag holding it would read back as two
# A cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection"):
# export prefixes `'`, which spreadsheets show as text; a leading `'` is doubled so the
# prefix can be told from the value's own.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def spreadsheet_safe(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _unescape(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(_FORMULA_START) else value


def _rapport(position: int, cell: Cell, header: set[str]) -> Record:
    def get(column: str) -> str:
        return _unescape(cell(column))

    return make_record(
        position,
        name=get("Full Name"),
        emails=[get("Email")],
        phones=[get("Phone")],
        tags=get("Tags").split(TAG_SEPARATOR),
        contact_id=parse_uuid(get("Rapport ID")),
        organization=get("Organization"),
        title=get("Title"),
        field=get("Field"),
        circle=get("Circle"),
        role=get("Role"),
        how_met=get("How Met"),
        notes=get("Notes"),
    )


@dataclass(frozen=True)
class Layout:
    name: str
    required: frozenset[str]  # casefolded column names that identify it
    any_of: frozenset[str]  # …and at least one of these
    read: Callable[[int, Cell, set[str]], Record]

    def matches(self, header: set[str]) -> bool:
        return self.required <= header and (not self.any_of or bool(self.any_of & header))


def _cols(*names: str) -> frozenset[str]:
    return frozenset(n.casefold() for n in names)


# Most specific first: Google and Outlook share `First Name`.
LAYOUTS = (
    Layout("Rapport", _cols("Rapport ID", "Full Name"), frozenset(), _rapport),
    Layout(
        "LinkedIn connections", _cols("First Name", "Last Name", "Connected On"), _cols(), _linkedin
    ),
    Layout(
        "Google Contacts (older layout)",
        _cols("Name"),
        _cols("Given Name", "Group Membership"),
        _google,
    ),
    Layout(
        "Google Contacts",
        _cols("First Name"),
        _cols("Labels", "E-mail 1 - Value", "Phone 1 - Value", "Organization Name", "File As"),
        _google,
    ),
    Layout(
        "Outlook",
        _cols("First Name"),
        _cols(
            "E-mail Address",
            "Mobile Phone",
            "Business Phone",
            "Company",
            "Job Title",
            "Categories",
        ),
        _outlook,
    ),
)


def _detect(row: list[str]) -> tuple[Layout, dict[str, int]] | None:
    index: dict[str, int] = {}
    for i, column in enumerate(row):
        index.setdefault(column.strip().casefold(), i)
    header = set(index)
    for layout in LAYOUTS:
        if layout.matches(header):
            return layout, index
    return None


def read_csv(text: str, max_records: int) -> list[Record]:
    reader = csv.reader(io.StringIO(text, newline=""))
    found: tuple[Layout, dict[str, int]] | None = None
    records: list[Record] = []
    try:
        for row in reader:
            if found is None:
                found = _detect(row)
                if found is None and reader.line_num >= HEADER_SEARCH_ROWS:
                    break
                continue
            if not any(cell.strip() for cell in row):
                continue
            position = len(records) + 1
            if position > max_records:
                raise ContentTooLarge(
                    f"The file holds more than {max_records} contacts; split it into smaller files."
                )
            layout, index = found

            def cell(column: str, row: list[str] = row, index: dict[str, int] = index) -> str:
                i = index.get(column.casefold())
                return row[i] if i is not None and i < len(row) else ""

            records.append(layout.read(position, cell, set(index)))
    except csv.Error as exc:
        detail = f"The CSV file is malformed at line {reader.line_num}: {exc}."
        raise Unprocessable(
            detail, errors=[{"field": FILE_FIELD, "message": detail, "code": "malformed_csv"}]
        ) from None
    if found is None:
        names = ", ".join(layout.name for layout in LAYOUTS)
        detail = (
            "The file is neither a vCard nor a CSV export with a header row we recognise "
            f"({names})."
        )
        raise Unprocessable(
            detail, errors=[{"field": FILE_FIELD, "message": detail, "code": "unknown_format"}]
        )
    return records


def write_rows(rows: Sequence[Any], *, header: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        writer.writerow(RAPPORT_COLUMNS)
    for row in rows:
        values = (
            row.full_name,
            row.email,
            row.phone,
            row.organization,
            row.title,
            row.field,
            row.circle,
            row.role,
            row.how_met,
            TAG_SEPARATOR.join(row.tags or ()),
            row.notes,
        )
        writer.writerow([str(row.id), *(spreadsheet_safe(v or "") for v in values)])
    return out.getvalue()
