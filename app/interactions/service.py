"""Interaction rules: log, reschedule, complete, delete — and the etiquette tasks that follow."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.contacts import follow_up
from app.contacts import service as contacts
from app.contacts.repository import ContactRepository
from app.core.etags import IfMatch
from app.core.pagination import CursorCodec
from app.core.records import Records
from app.etiquette import rules
from app.interactions.models import (
    INTERACTION_REQUIRED,
    Interaction,
    InteractionCreate,
    InteractionPublic,
    InteractionStatus,
    InteractionUpdate,
)
from app.interactions.repository import InteractionRepository

# The columns a read-only row carries for a response: what `InteractionPublic` shows.
_SHOWN = tuple(InteractionPublic.model_fields)


def _records(session: AsyncSession, owner_id: uuid.UUID) -> Records[Interaction]:
    return Records(InteractionRepository(session, owner_id), "No interaction with this id.")


async def _apply_rules(
    session: AsyncSession,
    owner_id: uuid.UUID,
    interaction: Interaction,
    *,
    deleted: bool = False,
    before: dict[str, rules.Want | None] | None = None,
    was_completed: bool = False,
) -> None:
    completed = interaction.status == InteractionStatus.completed and not deleted
    # Locked: the contact's last-contacted time is read and rewritten by concurrent writers.
    contact = await contacts.get(
        session, owner_id, interaction.contact_id, lock=completed or was_completed
    )
    if completed or was_completed:
        await follow_up.refresh(session, contact, recount=True)
    wants = rules.interaction_wants(None if deleted else interaction, contact.full_name)
    await rules.apply(
        session,
        owner_id,
        interaction.contact_id,
        wants,
        interaction_id=interaction.id,
        before=before,
    )


async def create(
    session: AsyncSession, owner_id: uuid.UUID, data: InteractionCreate
) -> Interaction:
    await contacts.require(session, owner_id, data.contact_id)
    interaction = InteractionRepository(session, owner_id).add(Interaction(**data.model_dump()))
    await session.flush()
    await _apply_rules(session, owner_id, interaction)
    return interaction


async def read(session: AsyncSession, owner_id: uuid.UUID, interaction_id: uuid.UUID) -> Any:
    """The interaction as a read-only row (attributes as on `Interaction`), for a response."""
    return await _records(session, owner_id).read(interaction_id, _SHOWN)


async def list_page(
    session: AsyncSession,
    owner_id: uuid.UUID,
    codec: CursorCodec,
    *,
    limit: int,
    cursor: str | None,
    **filters: Any,
) -> tuple[list[Interaction], str | None]:
    return await _records(session, owner_id).list(filters, cursor=cursor, limit=limit, codec=codec)


async def _lock_contact_first(
    session: AsyncSession, owner_id: uuid.UUID, interaction_id: uuid.UUID
) -> None:
    """Lock the interaction's contact before the interaction. Deleting a contact locks it, then
    its interactions: a write that locked an interaction, then its contact (for its last
    contact), could deadlock with it, and PostgreSQL would abort one of the two (a 503)."""
    interaction = await _records(session, owner_id).get(interaction_id)
    await ContactRepository(session, owner_id).get(interaction.contact_id, lock=True)


async def update(
    session: AsyncSession,
    owner_id: uuid.UUID,
    interaction_id: uuid.UUID,
    patch: InteractionUpdate,
    if_match: IfMatch,
) -> Interaction:
    records = _records(session, owner_id)
    await _lock_contact_first(session, owner_id, interaction_id)
    interaction = await records.for_write(interaction_id, if_match)
    before = rules.interaction_wants(interaction, "")  # only the due dates matter here
    was_completed = interaction.status == InteractionStatus.completed
    changes = patch.model_dump(exclude_unset=True)
    if await records.merge(interaction, changes, required=INTERACTION_REQUIRED):
        await _apply_rules(
            session, owner_id, interaction, before=before, was_completed=was_completed
        )
    return interaction


async def delete(
    session: AsyncSession, owner_id: uuid.UUID, interaction_id: uuid.UUID, if_match: IfMatch
) -> None:
    await _lock_contact_first(session, owner_id, interaction_id)
    interaction = await _records(session, owner_id).delete(interaction_id, if_match)
    await _apply_rules(
        session,
        owner_id,
        interaction,
        deleted=True,
        was_completed=interaction.status == InteractionStatus.completed,
    )
