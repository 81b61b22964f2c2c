"""Contact rules: create, read, merge-patch under If-Match, tombstone on delete."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.asks.repository import AskRepository
from app.contacts.models import (
    CONTACT_DEFAULTS,
    CONTACT_REQUIRED,
    Contact,
    ContactCreate,
    ContactUpdate,
)
from app.contacts.repository import ContactRepository
from app.core.db import utcnow
from app.core.errors import NotFound, Unprocessable
from app.core.etags import IfMatch
from app.core.pagination import CursorCodec
from app.core.patch import apply_merge_patch
from app.etiquette.repository import TaskRepository
from app.interactions.repository import InteractionRepository


def _missing() -> NotFound:
    return NotFound("No contact with this id.")


async def create(session: AsyncSession, owner_id: uuid.UUID, data: ContactCreate) -> Contact:
    repo = ContactRepository(session, owner_id)
    contact = repo.add(Contact(**data.model_dump(), owner_id=owner_id))
    await session.flush()
    return contact


async def get(session: AsyncSession, owner_id: uuid.UUID, contact_id: uuid.UUID) -> Contact:
    contact = await ContactRepository(session, owner_id).get(contact_id)
    if contact is None:
        raise _missing()
    return contact


async def list_page(
    session: AsyncSession,
    owner_id: uuid.UUID,
    codec: CursorCodec,
    *,
    limit: int,
    cursor: str | None,
    q: str | None,
    circle: str | None,
    tag: str | None,
    updated_since: datetime | None,
) -> tuple[list[Contact], str | None]:
    repo = ContactRepository(session, owner_id)
    conditions = repo.conditions(q=q, circle=circle, tag=tag, updated_since=updated_since)
    filters = {"q": q, "circle": circle, "tag": tag, "updated_since": updated_since}
    return await repo.page(conditions, filters=filters, cursor=cursor, limit=limit, codec=codec)


async def update(
    session: AsyncSession,
    owner_id: uuid.UUID,
    contact_id: uuid.UUID,
    patch: ContactUpdate,
    if_match: IfMatch,
) -> Contact:
    repo = ContactRepository(session, owner_id)
    contact = await repo.get(contact_id, lock=True)
    if contact is None:
        raise _missing()
    if_match.check(contact.version)
    changes = patch.model_dump(exclude_unset=True)
    if apply_merge_patch(contact, changes, required=CONTACT_REQUIRED, defaults=CONTACT_DEFAULTS):
        repo.touch(contact)
        await session.flush()
    return contact


async def delete(
    session: AsyncSession, owner_id: uuid.UUID, contact_id: uuid.UUID, if_match: IfMatch
) -> None:
    repo = ContactRepository(session, owner_id)
    contact = await repo.get(contact_id, lock=True)
    if contact is None:
        raise _missing()
    if_match.check(contact.version)
    now = utcnow()
    repo.tombstone(contact, now)
    # Everything about the contact goes with it, in this same transaction.
    for dependent in (InteractionRepository, AskRepository, TaskRepository):
        await dependent(session, owner_id).tombstone_where(
            col(dependent.model.contact_id) == contact_id, now=now
        )
    await session.flush()


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
