"""Ask rules: status moves, the server-owned `resolved_at`, and rule 2's thank-you note."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.asks import balance
from app.asks.models import (
    ASK_REQUIRED,
    RESOLVED,
    TRANSITIONS,
    Ask,
    AskCreate,
    AskStatus,
    AskUpdate,
)
from app.asks.repository import AskRepository
from app.contacts import service as contacts
from app.contacts.repository import ContactRepository
from app.core.db import utcnow
from app.core.errors import Conflict
from app.core.etags import IfMatch
from app.core.pagination import CursorCodec
from app.core.records import Records
from app.etiquette import rules


def _records(session: AsyncSession, owner_id: uuid.UUID) -> Records[Ask]:
    return Records(AskRepository(session, owner_id), "No ask with this id.")


async def _apply_rules(
    session: AsyncSession, owner_id: uuid.UUID, ask: Ask, *, deleted: bool = False
) -> None:
    contact = await contacts.get(session, owner_id, ask.contact_id)
    wants = rules.ask_wants(None if deleted else ask, contact.full_name)
    await rules.apply(session, owner_id, ask.contact_id, wants, ask_id=ask.id)


async def _refresh_balance(session: AsyncSession, owner_id: uuid.UUID, ask: Ask) -> None:
    # Locked: the contact's stored reciprocity is read and rewritten by concurrent writers.
    contact = await contacts.get(session, owner_id, ask.contact_id, lock=True)
    await balance.refresh(session, contact)


async def create(session: AsyncSession, owner_id: uuid.UUID, data: AskCreate) -> Ask:
    await contacts.require(session, owner_id, data.contact_id)
    ask = AskRepository(session, owner_id).add(Ask(**data.model_dump()))
    if data.status in RESOLVED:
        ask.resolved_at = ask.created_at
    await session.flush()
    if ask.status == AskStatus.fulfilled:
        await _refresh_balance(session, owner_id, ask)
    await _apply_rules(session, owner_id, ask)
    return ask


async def get(session: AsyncSession, owner_id: uuid.UUID, ask_id: uuid.UUID) -> Ask:
    return await _records(session, owner_id).get(ask_id)


async def list_page(
    session: AsyncSession,
    owner_id: uuid.UUID,
    codec: CursorCodec,
    *,
    limit: int,
    cursor: str | None,
    **filters: Any,
) -> tuple[list[Ask], str | None]:
    return await _records(session, owner_id).list(filters, cursor=cursor, limit=limit, codec=codec)


def _check_move(current: AskStatus, new: AskStatus) -> None:
    if new != current and new not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current]))
        raise Conflict(
            f"An ask cannot go from `{current}` to `{new}`; from `{current}` it can become: "
            f"{allowed}."
        )


async def _lock_contact_first(
    session: AsyncSession, owner_id: uuid.UUID, ask_id: uuid.UUID
) -> None:
    """Lock the ask's contact before the ask. Deleting a contact locks it, then its asks: a
    write that locked an ask, then its contact (for the reciprocity sums), could deadlock with
    it, and PostgreSQL would abort one of the two (a 503)."""
    ask = await _records(session, owner_id).get(ask_id)
    await ContactRepository(session, owner_id).get(ask.contact_id, lock=True)


async def update(
    session: AsyncSession,
    owner_id: uuid.UUID,
    ask_id: uuid.UUID,
    patch: AskUpdate,
    if_match: IfMatch,
) -> Ask:
    records = _records(session, owner_id)
    await _lock_contact_first(session, owner_id, ask_id)
    ask = await records.for_write(ask_id, if_match)
    changes = patch.model_dump(exclude_unset=True)
    before = AskStatus(ask.status)
    if changes.get("status") is not None:
        _check_move(before, AskStatus(changes["status"]))
    now = utcnow()
    after = AskStatus(changes.get("status") or before)
    if after in RESOLVED and before not in RESOLVED:
        changes["resolved_at"] = now
    elif after not in RESOLVED:
        changes["resolved_at"] = None
    if not await records.merge(ask, changes, required=ASK_REQUIRED, now=now):
        return ask
    # Kind and effort weigh a fulfilled ask in reciprocity, as its status does.
    if AskStatus.fulfilled in {before, after} and (
        after != before or {"kind", "effort"} & changes.keys()
    ):
        await _refresh_balance(session, owner_id, ask)
    if after != before:
        await _apply_rules(session, owner_id, ask)
    return ask


async def delete(
    session: AsyncSession, owner_id: uuid.UUID, ask_id: uuid.UUID, if_match: IfMatch
) -> None:
    await _lock_contact_first(session, owner_id, ask_id)
    ask = await _records(session, owner_id).delete(ask_id, if_match)
    if ask.status == AskStatus.fulfilled:
        await _refresh_balance(session, owner_id, ask)
    await _apply_rules(session, owner_id, ask, deleted=True)
