"""Interaction rules: log, reschedule, complete, delete — and the etiquette tasks that follow."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from app.contacts import service as contacts
from app.core.errors import NotFound
from app.core.etags import IfMatch
from app.core.pagination import CursorCodec
from app.core.patch import apply_merge_patch
from app.etiquette import rules
from app.interactions.models import (
    INTERACTION_REQUIRED,
    Interaction,
    InteractionCreate,
    InteractionUpdate,
)
from app.interactions.repository import InteractionRepository


def _missing() -> NotFound:
    return NotFound("No interaction with this id.")


async def _apply_rules(
    session: AsyncSession, owner_id: uuid.UUID, interaction: Interaction, *, deleted: bool = False
) -> None:
    contact = await contacts.get(session, owner_id, interaction.contact_id)
    wants = rules.interaction_wants(None if deleted else interaction, contact.full_name)
    await rules.apply(
        session, owner_id, interaction.contact_id, wants, interaction_id=interaction.id
    )


async def create(
    session: AsyncSession, owner_id: uuid.UUID, data: InteractionCreate
) -> Interaction:
    await contacts.require(session, owner_id, data.contact_id)
    repo = InteractionRepository(session, owner_id)
    interaction = repo.add(Interaction(**data.model_dump(), owner_id=owner_id))
    await session.flush()
    await _apply_rules(session, owner_id, interaction)
    return interaction


async def get(session: AsyncSession, owner_id: uuid.UUID, interaction_id: uuid.UUID) -> Interaction:
    interaction = await InteractionRepository(session, owner_id).get(interaction_id)
    if interaction is None:
        raise _missing()
    return interaction


async def list_page(
    session: AsyncSession,
    owner_id: uuid.UUID,
    codec: CursorCodec,
    *,
    limit: int,
    cursor: str | None,
    contact_id: uuid.UUID | None,
    channel: str | None,
    status: str | None,
    occurred_after: datetime | None,
    occurred_before: datetime | None,
) -> tuple[list[Interaction], str | None]:
    repo = InteractionRepository(session, owner_id)
    filters = {
        "contact_id": contact_id,
        "channel": channel,
        "status": status,
        "occurred_after": occurred_after,
        "occurred_before": occurred_before,
    }
    conditions = repo.conditions(
        contact_id=contact_id,
        channel=channel,
        status=status,
        occurred_after=occurred_after,
        occurred_before=occurred_before,
    )
    return await repo.page(conditions, filters=filters, cursor=cursor, limit=limit, codec=codec)


async def update(
    session: AsyncSession,
    owner_id: uuid.UUID,
    interaction_id: uuid.UUID,
    patch: InteractionUpdate,
    if_match: IfMatch,
) -> Interaction:
    repo = InteractionRepository(session, owner_id)
    interaction = await repo.get(interaction_id, lock=True)
    if interaction is None:
        raise _missing()
    if_match.check(interaction.version)
    changes = patch.model_dump(exclude_unset=True)
    if apply_merge_patch(interaction, changes, required=INTERACTION_REQUIRED):
        repo.touch(interaction)
        await session.flush()
        await _apply_rules(session, owner_id, interaction)
    return interaction


async def delete(
    session: AsyncSession, owner_id: uuid.UUID, interaction_id: uuid.UUID, if_match: IfMatch
) -> None:
    repo = InteractionRepository(session, owner_id)
    interaction = await repo.get(interaction_id, lock=True)
    if interaction is None:
        raise _missing()
    if_match.check(interaction.version)
    repo.tombstone(interaction)
    await session.flush()
    await _apply_rules(session, owner_id, interaction, deleted=True)
