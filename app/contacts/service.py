"""Contact rules: create, read, merge-patch under If-Match, tombstone with everything about
the contact on delete."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.asks.repository import AskRepository
from app.auth.repository import get_timezone
from app.contacts import follow_up
from app.contacts.keys import email_key, phone_key, region_for_timezone
from app.contacts.models import (
    CONTACT_DEFAULTS,
    CONTACT_REQUIRED,
    Contact,
    ContactCreate,
    ContactPublic,
    ContactUpdate,
)
from app.contacts.repository import ContactRepository
from app.core.errors import Unprocessable
from app.core.etags import IfMatch
from app.core.pagination import CursorCodec
from app.core.records import Records
from app.etiquette.repository import TaskRepository
from app.interactions.repository import InteractionRepository

# The columns a read-only row carries for a response: what `ContactPublic` shows.
_SHOWN = tuple(ContactPublic.model_fields)


def _records(session: AsyncSession, owner_id: uuid.UUID) -> Records[Contact]:
    return Records(ContactRepository(session, owner_id), "No contact with this id.")


# Changing one of these moves the contact's follow-up due date or whether it is tracked.
_FOLLOW_UP_FIELDS = {"cadence_days", "circle", "track_follow_ups", "snoozed_until"}


async def owner_region(session: AsyncSession, owner_id: uuid.UUID) -> str | None:
    """The country national phone numbers are read in: the owner's time zone's."""
    return region_for_timezone(await get_timezone(session, owner_id))


def set_match_keys(contact: Contact, region: str | None) -> None:
    """Import matches contacts by these (app/contacts/keys.py); kept with email and phone."""
    contact.email_key = email_key(contact.email)
    contact.phone_key = phone_key(contact.phone, region)


def new_contact(repo: ContactRepository, data: ContactCreate, region: str | None) -> Contact:
    """A new contact with the state the server keeps on it, added to the session unflushed
    (import flushes many at once)."""
    contact = repo.add(Contact(**data.model_dump()))
    set_match_keys(contact, region)
    contact.follow_up_due_at = follow_up.due_at(contact)
    return contact


async def create(session: AsyncSession, owner_id: uuid.UUID, data: ContactCreate) -> Contact:
    # Only a phone number is read with the region: most contacts are created without one, and
    # the owner's row is then not read at all.
    region = await owner_region(session, owner_id) if data.phone else None
    contact = new_contact(ContactRepository(session, owner_id), data, region)
    await session.flush()
    return contact


async def get(
    session: AsyncSession, owner_id: uuid.UUID, contact_id: uuid.UUID, *, lock: bool = False
) -> Contact:
    return await _records(session, owner_id).get(contact_id, lock=lock)


async def read(session: AsyncSession, owner_id: uuid.UUID, contact_id: uuid.UUID) -> Any:
    """The contact as a read-only row (attributes as on `Contact`), for a response."""
    return await _records(session, owner_id).read(contact_id, _SHOWN)


async def list_page(
    session: AsyncSession,
    owner_id: uuid.UUID,
    codec: CursorCodec,
    *,
    limit: int,
    cursor: str | None,
    **filters: Any,
) -> tuple[list[Contact], str | None]:
    """A page of read-only rows (they are only written out)."""
    records = _records(session, owner_id)
    return await records.list(filters, cursor=cursor, limit=limit, codec=codec, columns=_SHOWN)


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
    if changed and {"email", "phone"} & changes.keys():
        region = await owner_region(session, owner_id) if contact.phone else None
        set_match_keys(contact, region)
        session.add(contact)
        await session.flush()
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
    # Locked: a delete of the contact commits first (and this answers 422) or waits for this
    # record, whose creation it would otherwise miss when it tombstones the contact's records.
    contact = await ContactRepository(session, owner_id).get(contact_id, lock=True)
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
