"""Contact rules: create, read, merge-patch under If-Match, tombstone with everything about
the contact on delete."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.asks.repository import AskRepository
from app.contacts import follow_up
from app.contacts.models import (
    CONTACT_DEFAULTS,
    CONTACT_REQUIRED,
    Contact,
    ContactCreate,
    ContactUpdate,
)
from app.contacts.repository import ContactRepository
from app.core.errors import Unprocessable
from app.core.etags import IfMatch
from app.core.pagination import CursorCodec
from app.core.records import Records
from app.etiquette.repository import TaskRepository
from app.interactions.repository import InteractionRepository


def _records(session: AsyncSession, owner_id: uuid.UUID) -> Records[Contact]:
    return Records(ContactRepository(session, owner_id), "No contact with this id.")


# Changing one of these moves the contact's follow-up due date or whether it is tracked.
_FOLLOW_UP_FIELDS = {"cadence_days", "circle", "track_follow_ups", "snoozed_until"}


async def create(session: AsyncSession, owner_id: uuid.UUID, data: ContactCreate) -> Contact:
    contact = ContactRepository(session, owner_id).add(Contact(**data.model_dump()))
    contact.follow_up_due_at = follow_up.due_at(contact)
    await session.flush()
    return contact


async def get(
    session: AsyncSession, owner_id: uuid.UUID, contact_id: uuid.UUID, *, lock: bool = False
) -> Contact:
    return await _records(session, owner_id).get(contact_id, lock=lock)


async def list_page(
    session: AsyncSession,
    owner_id: uuid.UUID,
    codec: CursorCodec,
    *,
    limit: int,
    cursor: str | None,
    **filters: Any,
) -> tuple[list[Contact], str | None]:
    return await _records(session, owner_id).list(filters, cursor=cursor, limit=limit, codec=codec)


async def update(
    session: AsyncSession,
    owner_id: uuid.UUID,
    contact_id: uuid.UUID,
    patch: ContactUpdate,
    if_match: IfMatch,
) -> Contact:
    records = _records(session, owner_id)
    contact = await records.for_write(contact_id, if_match)
    changes = patch.model_dump(exclude_unset=True)
    changed = await records.merge(
        contact, changes, required=CONTACT_REQUIRED, defaults=CONTACT_DEFAULTS
    )
    if changed and _FOLLOW_UP_FIELDS & changes.keys():
        await follow_up.refresh(session, contact, recount=False)
    return contact


async def delete(
    session: AsyncSession, owner_id: uuid.UUID, contact_id: uuid.UUID, if_match: IfMatch
) -> None:
    contact = await _records(session, owner_id).delete(contact_id, if_match)
    # Everything about the contact goes with it, in this same transaction.
    for dependent in (InteractionRepository, AskRepository, TaskRepository):
        await dependent(session, owner_id).tombstone_where(
            col(dependent.model.contact_id) == contact_id, now=contact.updated_at
        )


async def require(session: AsyncSession, owner_id: uuid.UUID, contact_id: uuid.UUID) -> Contact:
    """The caller's live contact, for records that reference one (422 naming the field)."""
    contact = await ContactRepository(session, owner_id).get(contact_id)
    if contact is None:
        raise Unprocessable(
            "`contact_id` does not name one of your contacts.",
            errors=[
                {
                    "field": "body.contact_id",
                    "message": "No contact with this id.",
                    "code": "unknown_contact",
                }
            ],
        )
    return contact
