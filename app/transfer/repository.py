"""Queries of import and export: index lookups by match key, keyset pages. Never commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, text, tuple_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.contacts.models import Contact
from app.core.db import session_dialect

# Values per `IN (…)`: well under SQLite's 32,766 bound parameters and PostgreSQL's 65,535.
IN_BATCH = 500

EXPORT_COLUMNS = (
    Contact.id,
    Contact.created_at,
    Contact.full_name,
    Contact.email,
    Contact.phone,
    Contact.organization,
    Contact.title,
    Contact.field,
    Contact.circle,
    Contact.role,
    Contact.how_met,
    Contact.tags,
    Contact.notes,
)


async def serialize_imports(session: AsyncSession, owner_id: uuid.UUID) -> None:
    """Imports of one owner run one at a time, until this transaction ends: two at once (a
    double-click, a retry with a fresh Idempotency-Key) would each see the other's contacts
    as new and create them twice. PostgreSQL: an advisory lock on the owner; SQLite writers
    are serialised already (BEGIN IMMEDIATE)."""
    if session_dialect(session) != "postgresql":
        return
    key = int.from_bytes(owner_id.bytes[:8], "big", signed=True)
    await session.exec(select(func.pg_advisory_xact_lock(key)))
    # The lookups below run the same prepared statement (500 keys) many times; PostgreSQL
    # then switches to a generic plan, which cannot hash or index-probe a parameter list and
    # scans the owner's contacts comparing each to all 500 keys (measured: ~0.4 s a batch at
    # 6k contacts). Custom plans see the keys and probe the index. This transaction only.
    await session.exec(text("SET LOCAL plan_cache_mode = force_custom_plan"))  # type: ignore[call-overload]


def _batches(values: Iterable[Any]) -> Iterable[list[Any]]:
    items = sorted(set(values), key=str)
    for start in range(0, len(items), IN_BATCH):
        yield items[start : start + IN_BATCH]


def _live(owner_id: uuid.UUID) -> tuple[Any, ...]:
    return (col(Contact.owner_id) == owner_id, col(Contact.deleted_at).is_(None))


async def find_matches(
    session: AsyncSession,
    owner_id: uuid.UUID,
    *,
    ids: Iterable[uuid.UUID],
    email_keys: Iterable[str],
    phone_keys: Iterable[str],
) -> list[Any]:
    """(id, created_at, email_key, phone_key) of the owner's live contacts that have one of
    these ids or keys, oldest first. Index lookups (ix_contacts_owner_email_key, …) in
    batches: the work follows the file's size, not the network's."""
    c = Contact
    lookups = ((c.id, ids), (c.email_key, email_keys), (c.phone_key, phone_keys))
    found: dict[uuid.UUID, Any] = {}
    for column, values in lookups:
        for batch in _batches(values):
            stmt = select(col(c.id), col(c.created_at), col(c.email_key), col(c.phone_key)).where(
                *_live(owner_id), col(column).in_(batch)
            )
            rows: Sequence[Any] = (await session.exec(stmt)).all()
            for row in rows:
                found[row.id] = row
    return sorted(found.values(), key=lambda row: (row.created_at, row.id))


async def lock_contacts(
    session: AsyncSession, owner_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[Contact]:
    """The live contacts with these ids, locked for update in id order (so two imports that
    touch the same contacts queue instead of deadlocking); NO KEY UPDATE as in
    OwnedRepository.get."""
    stmt = (
        select(Contact)
        .where(*_live(owner_id), col(Contact.id).in_(ids))
        .order_by(col(Contact.id))
        .with_for_update(key_share=True)
    )
    return list((await session.exec(stmt)).all())  # type: ignore[call-overload]


async def export_page(
    session: AsyncSession,
    owner_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Any]:
    """The next `limit` live contacts in (created_at, id) order: ix_contacts_owner_created."""
    c = Contact
    stmt = select(*(col(column) for column in EXPORT_COLUMNS)).where(*_live(owner_id))
    if after is not None:
        # A row-value comparison, not `a > x OR (a = x AND b > y)`: SQLite then seeks the
        # index to the page's start (measured: the OR form scanned every earlier contact on
        # every page, 7.4 s for 100k contacts).
        stmt = stmt.where(tuple_(col(c.created_at), col(c.id)) > after)
    stmt = stmt.order_by(col(c.created_at), col(c.id)).limit(limit)
    rows: Sequence[Any] = (await session.exec(stmt)).all()
    return list(rows)
