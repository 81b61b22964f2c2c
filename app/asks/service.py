"""Ask rules: status moves, the server-owned `resolved_at`, and rule 2's thank-you note."""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

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
from app.core.db import utcnow
from app.core.errors import Conflict, NotFound
from app.core.etags import IfMatch
from app.core.pagination import CursorCodec
from app.core.patch import apply_merge_patch
from app.etiquette import rules


def _missing() -> NotFound:
    return NotFound("No ask with this id.")


async def _apply_rules(
    session: AsyncSession, owner_id: uuid.UUID, ask: Ask, *, deleted: bool = False
) -> None:
    contact = await contacts.get(session, owner_id, ask.contact_id)
    wants = rules.ask_wants(None if deleted else ask, contact.full_name)
    await rules.apply(session, owner_id, ask.contact_id, wants, ask_id=ask.id)


async def create(session: AsyncSession, owner_id: uuid.UUID, data: AskCreate) -> Ask:
    await contacts.require(session, owner_id, data.contact_id)
    repo = AskRepository(session, owner_id)
    ask = repo.add(Ask(**data.model_dump(), owner_id=owner_id))
    if data.status in RESOLVED:
        ask.resolved_at = ask.created_at
    await session.flush()
    await _apply_rules(session, owner_id, ask)
    return ask


async def get(session: AsyncSession, owner_id: uuid.UUID, ask_id: uuid.UUID) -> Ask:
    ask = await AskRepository(session, owner_id).get(ask_id)
    if ask is None:
        raise _missing()
    return ask


async def list_page(
    session: AsyncSession,
    owner_id: uuid.UUID,
    codec: CursorCodec,
    *,
    limit: int,
    cursor: str | None,
    contact_id: uuid.UUID | None,
    direction: str | None,
    status: str | None,
    kind: str | None,
) -> tuple[list[Ask], str | None]:
    repo = AskRepository(session, owner_id)
    conditions = repo.conditions(
        contact_id=contact_id, direction=direction, status=status, kind=kind
    )
    filters = {"contact_id": contact_id, "direction": direction, "status": status, "kind": kind}
    return await repo.page(conditions, filters=filters, cursor=cursor, limit=limit, codec=codec)


def _check_move(current: AskStatus, new: AskStatus) -> None:
    if new != current and new not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current]))
        raise Conflict(
            f"An ask cannot go from `{current}` to `{new}`; from `{current}` it can become: "
            f"{allowed}."
        )


async def update(
    session: AsyncSession, owner_id: uuid.UUID, ask_id: uuid.UUID, patch: AskUpdate,
    if_match: IfMatch,
) -> Ask:  # fmt: skip
    repo = AskRepository(session, owner_id)
    ask = await repo.get(ask_id, lock=True)
    if ask is None:
        raise _missing()
    if_match.check(ask.version)
    changes = patch.model_dump(exclude_unset=True)
    before = AskStatus(ask.status)
    if changes.get("status") is not None:
        _check_move(before, AskStatus(changes["status"]))
    if not apply_merge_patch(ask, changes, required=ASK_REQUIRED):
        return ask
    after = AskStatus(ask.status)
    now = utcnow()
    if after in RESOLVED and before not in RESOLVED:
        ask.resolved_at = now
    elif after not in RESOLVED:
        ask.resolved_at = None
    repo.touch(ask, now)
    await session.flush()
    if after != before:
        await _apply_rules(session, owner_id, ask)
    return ask


async def delete(
    session: AsyncSession, owner_id: uuid.UUID, ask_id: uuid.UUID, if_match: IfMatch
) -> None:
    repo = AskRepository(session, owner_id)
    ask = await repo.get(ask_id, lock=True)
    if ask is None:
        raise _missing()
    if_match.check(ask.version)
    repo.tombstone(ask)
    await session.flush()
    await _apply_rules(session, owner_id, ask, deleted=True)
