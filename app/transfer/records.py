"""What every file format is read into: one record per card or row, before matching."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from app.contacts.keys import email_key, phone_key
from app.contacts.models import ContactCreate


@dataclass(slots=True)
class Record:
    """A record as read from the file: `fields` are ContactCreate's, not yet validated."""

    position: int  # 1-based, among the file's records
    fields: dict[str, Any] = field(default_factory=dict)
    contact_id: uuid.UUID | None = None  # a Rapport export's own id for it
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass(slots=True)
class Candidate:
    """A valid record, with the keys it is matched by (app/contacts/keys.py)."""

    position: int
    data: ContactCreate
    contact_id: uuid.UUID | None
    email_keys: list[str]
    phone_keys: list[str]


def clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def unique(values: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(v for v in (clean(x) for x in values) if v))


def parse_uuid(value: str | None) -> uuid.UUID | None:
    value = clean(value)
    if value is None:
        return None
    if value.lower().startswith("urn:uuid:"):
        value = value[9:]
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def make_record(
    position: int,
    *,
    name: str | None,
    emails: Iterable[str | None] = (),
    phones: Iterable[str | None] = (),
    tags: Iterable[str | None] = (),
    contact_id: uuid.UUID | None = None,
    **fields: str | None,
) -> Record:
    # Exchange exports put X.500 paths where addresses go: only something@somewhere is one.
    email_list = [e for e in unique(emails) if "@" in e]
    phone_list = [p[4:].strip() if p.lower().startswith("tel:") else p for p in unique(phones)]
    phone_list = [p for p in phone_list if p]
    values: dict[str, Any] = {
        "full_name": clean(name),
        "email": email_list[0] if email_list else None,
        "phone": phone_list[0] if phone_list else None,
        "tags": unique(tags),
    }
    for key, value in fields.items():
        cleaned = clean(value)
        if cleaned is not None:
            values[key] = cleaned
    return Record(position, values, contact_id, email_list, phone_list)


def _describe(error: ValidationError) -> str:
    parts = []
    for err in error.errors()[:3]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "record"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) + "."


def validate(record: Record, region: str | None) -> Candidate | str:
    """The record as a contact to create or merge, or why it cannot be one."""
    if record.error is not None:
        return record.error
    if record.fields.get("full_name") is None:
        return "The record has no name."
    try:
        data = ContactCreate.model_validate(record.fields)
    except ValidationError as exc:
        return _describe(exc)
    return Candidate(
        position=record.position,
        data=data,
        contact_id=record.contact_id,
        email_keys=unique(email_key(e) for e in record.emails),
        phone_keys=unique(phone_key(p, region) for p in record.phones),
    )
