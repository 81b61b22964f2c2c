"""Import: read a file, match its records against the owner's contacts and each other, merge
into matches without overwriting anything, create the rest — in the request's transaction.
Export: the owner's live contacts, a keyset page at a time.

Matching order (PRODUCT.md: "de-duplicated by email/phone"): the contact's own id when the
record carries one (our exports do: vCard `UID:urn:uuid:<id>`, CSV `Rapport ID`), then any of
the record's normalised emails, then any of its normalised phone numbers (app/contacts/keys.py;
national numbers are read in the country of the owner's time zone). Records match earlier
records of the same file the same way.

Merge rule: a match only gains what it lacks — a field that is empty on it is filled, tags are
unioned (up to MAX_TAGS); name and circle are never changed. Nothing the user wrote is lost.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.concurrency import run_in_threadpool

from app.contacts import service as contacts
from app.contacts.keys import email_key, phone_key
from app.contacts.models import MAX_TAGS, Contact, ContactCreate
from app.contacts.repository import ContactRepository
from app.core.db import Database, utcnow
from app.core.errors import Unprocessable
from app.transfer import csv_formats, repository, vcard
from app.transfer.models import ExportFormat, ImportRecordError, ImportReport
from app.transfer.records import Candidate, Record, validate
from app.transfer.text import FILE_FIELD, decode

# Contacts written (and then let go by the session) per flush, and exported per page: memory
# stays flat however many there are.
WRITE_BATCH = 500
EXPORT_PAGE = 500
# Of a file refused whole, the records named in the problem (its detail gives the count).
MAX_LISTED_ERRORS = 100

# Filled on a match only where the match has nothing.
FILLABLE = ("email", "phone", "organization", "title", "field", "role", "how_met", "notes")


def read_file(data: bytes, content_type: str | None, max_records: int) -> list[Record]:
    """The file's records, in order. Raises for a file that is not one we can read at all."""
    text = decode(data, content_type)
    if not text.strip():
        detail = "The file is empty."
        raise Unprocessable(
            detail, errors=[{"field": FILE_FIELD, "message": detail, "code": "empty_file"}]
        )
    if vcard.looks_like_vcard(text):
        return vcard.read_vcards(text, max_records)
    return csv_formats.read_csv(text, max_records)


def _validate_all(
    records: list[Record], region: str | None
) -> tuple[list[Candidate], list[ImportRecordError]]:
    candidates, errors = [], []
    for record in records:
        result = validate(record, region)
        if isinstance(result, str):
            errors.append(ImportRecordError(record=record.position, detail=result))
        else:
            candidates.append(result)
    return candidates, errors


@dataclass(slots=True)
class _Target:
    """A contact records merge into: an existing one (`contact_id`) or one to create."""

    contact_id: uuid.UUID | None
    email_key: str | None = None
    phone_key: str | None = None
    records: list[Candidate] = field(default_factory=list)


def _plan(
    candidates: list[Candidate], existing: Sequence[Any], region: str | None
) -> tuple[list[_Target], list[_Target]]:
    """Assign every record to a target: (existing targets, new targets)."""
    by_id: dict[uuid.UUID, _Target] = {}
    by_email: dict[str, _Target] = {}
    by_phone: dict[str, _Target] = {}
    old: list[_Target] = []
    for row in existing:  # oldest first: the oldest of several matches wins
        match = _Target(row.id, row.email_key, row.phone_key)
        old.append(match)
        by_id[row.id] = match
        if row.email_key:
            by_email.setdefault(row.email_key, match)
        if row.phone_key:
            by_phone.setdefault(row.phone_key, match)
    new: list[_Target] = []
    for candidate in candidates:
        target: _Target | None = (
            (by_id.get(candidate.contact_id) if candidate.contact_id else None)
            or next((by_email[k] for k in candidate.email_keys if k in by_email), None)
            or next((by_phone[k] for k in candidate.phone_keys if k in by_phone), None)
        )
        if target is None:
            target = _Target(None)
            new.append(target)
        target.records.append(candidate)
        # What the target holds once this record is merged in (only empty fields fill), and
        # every key of the record, so that later records of the file find it too.
        if target.email_key is None and candidate.data.email:
            target.email_key = email_key(candidate.data.email)
        if target.phone_key is None and candidate.data.phone:
            target.phone_key = phone_key(candidate.data.phone, region)
        if candidate.contact_id is not None:
            by_id.setdefault(candidate.contact_id, target)
        for key in [target.email_key, *candidate.email_keys]:
            if key:
                by_email.setdefault(key, target)
        for key in [target.phone_key, *candidate.phone_keys]:
            if key:
                by_phone.setdefault(key, target)
    return [t for t in old if t.records], new


def _fill(values: dict[str, Any], data: ContactCreate) -> bool:
    """Merge `data` into `values` without overwriting; whether anything changed."""
    changed = False
    for name in FILLABLE:
        value = getattr(data, name)
        if value is not None and values.get(name) in (None, ""):
            values[name] = value
            changed = True
    tags: list[str] = values["tags"]
    added = [tag for tag in data.tags if tag not in tags][: max(0, MAX_TAGS - len(tags))]
    if added:
        values["tags"] = [*tags, *added]
        changed = True
    return changed


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def import_file(
    session: AsyncSession,
    owner_id: uuid.UUID,
    data: bytes,
    content_type: str | None,
    *,
    max_records: int,
) -> ImportReport:
    # Reading is CPU work (vobject is slow): off the event loop, and before the transaction
    # starts, so SQLite's write lock is not held meanwhile.
    records = await run_in_threadpool(read_file, data, content_type, max_records)
    await repository.serialize_imports(session, owner_id)
    region = await contacts.owner_region(session, owner_id)
    candidates, errors = await run_in_threadpool(_validate_all, records, region)
    if errors and not candidates:
        # Nothing in the file is importable: a failure, not a 200 that did nothing.
        raise Unprocessable(
            f"None of the file's {len(errors)} records can be imported; "
            f"record {errors[0].record}: {errors[0].detail}",
            errors=[
                {
                    "field": FILE_FIELD,
                    "message": f"Record {e.record}: {e.detail}",
                    "code": "invalid_record",
                }
                for e in errors[:MAX_LISTED_ERRORS]
            ],
        )
    del records

    existing = await repository.find_matches(
        session,
        owner_id,
        ids={c.contact_id for c in candidates if c.contact_id is not None},
        email_keys={k for c in candidates for k in c.email_keys},
        phone_keys={k for c in candidates for k in c.phone_keys},
    )
    old, new = _plan(candidates, existing, region)
    outcome: dict[int, str] = {}
    repo = ContactRepository(session, owner_id)

    for batch in _chunks(new, WRITE_BATCH):
        made: list[Contact] = []
        for target in batch:
            first, *rest = target.records
            values = first.data.model_dump()
            outcome[first.position] = "created"
            for candidate in rest:
                outcome[candidate.position] = (
                    "updated" if _fill(values, candidate.data) else "skipped"
                )
            made.append(contacts.new_contact(repo, ContactCreate.model_validate(values), region))
        await session.flush()
        for contact in made:
            session.expunge(contact)

    now = utcnow()
    targets = {t.contact_id: t for t in old}
    for ids in _chunks(sorted(targets, key=str), WRITE_BATCH):
        locked = await repository.lock_contacts(session, owner_id, ids)
        for contact in locked:
            target = targets.pop(contact.id)
            current: dict[str, Any] = {name: getattr(contact, name) for name in FILLABLE}
            current["tags"] = list(contact.tags)
            changed = False
            for candidate in target.records:
                filled = _fill(current, candidate.data)
                outcome[candidate.position] = "updated" if filled else "skipped"
                changed = changed or filled
            if changed:
                for name, value in current.items():
                    setattr(contact, name, value)
                contacts.set_match_keys(contact, region)
                repo.touch(contact, now)
        await session.flush()
        for contact in locked:
            session.expunge(contact)
    # Matched, then deleted by a concurrent request before it was locked: nothing to merge into.
    for target in targets.values():
        for candidate in target.records:
            outcome[candidate.position] = "skipped"

    counts = list(outcome.values())
    return ImportReport(
        created=counts.count("created"),
        updated=counts.count("updated"),
        skipped=counts.count("skipped"),
        errors=errors,
    )


def _format(rows: Sequence[Any], fmt: ExportFormat, first: bool) -> bytes:
    if fmt is ExportFormat.vcf:
        return vcard.write_cards(rows).encode()
    # A BOM so that spreadsheets read the file as UTF-8 (import drops it again).
    text = csv_formats.write_rows(rows, header=first)
    return (("\ufeff" + text) if first else text).encode()


async def export_chunks(
    db: Database, owner_id: uuid.UUID, fmt: ExportFormat
) -> AsyncIterator[bytes]:
    """The export, a page at a time. Each page is read in a short session of its own: the
    request's session is closed by the time the body streams, and a slow download must not
    hold a connection (or, on SQLite, a read snapshot) for its whole length."""
    after: tuple[datetime, uuid.UUID] | None = None
    first = True
    while True:
        async with db.read_sessions() as session:
            rows = await repository.export_page(session, owner_id, after, EXPORT_PAGE)
        if rows or first:
            yield await run_in_threadpool(_format, rows, fmt, first)
        first = False
        if len(rows) < EXPORT_PAGE:
            return
        after = (rows[-1].created_at, rows[-1].id)
