"""Contacts: the people in a user's network."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, StrictBool, StrictInt
from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from app.core.db import JSONList, UTCDateTime
from app.core.models import OwnedRecord, RecordPublic, schema_config, tombstone_index
from app.core.types import Text, UTCDatetime
from app.core.vocabulary import AskKind, Circle, Role

MAX_TAGS = 50


def _unique_tags(tags: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


def _unique_kinds(kinds: list[AskKind]) -> list[AskKind]:
    return list(dict.fromkeys(kinds))


Tag = Text(50, min_length=1)
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_unique_tags)]
OpenTo = Annotated[list[AskKind], Field(max_length=len(AskKind)), AfterValidator(_unique_kinds)]
# Strict: JSON `true` or `"30"` is not a number of days (pydantic would coerce them).
CadenceDays = Annotated[StrictInt, Field(ge=1, le=3650)]

_EXAMPLE: dict[str, Any] = {
    "full_name": "Grace Hopper",
    "email": "grace@example.com",
    "phone": "+1 202 555 0147",
    "organization": "Navy Research Lab",
    "title": "Rear Admiral",
    "field": "computing",
    "circle": "alumni",
    "how_met": "Alumni mixer, spring 2026",
    "tags": ["compilers", "mentor"],
    "notes": "Offered to review my resume.",
    "role": "mentor",
    "open_to": ["advice", "feedback"],
    "cadence_days": 60,
    "track_follow_ups": True,
    "snoozed_until": None,
}


class ContactFields(SQLModel):
    """The client-writable fields of a contact, with their limits."""

    full_name: Text(200, min_length=1)
    email: Text(320) | None = None
    phone: Text(50) | None = None
    organization: Text(200) | None = None
    title: Text(200) | None = None
    field: Text(100) | None = Field(
        default=None, description='Occupational field ("learn the jargon").'
    )
    circle: Circle = Circle.other
    how_met: Text(500) | None = None
    tags: Tags = Field(default_factory=list)
    notes: Text(10_000) | None = None
    role: Role | None = None
    open_to: OpenTo = Field(
        default_factory=list,
        description="Ask kinds this person is comfortable helping with; empty = unknown.",
    )
    cadence_days: CadenceDays | None = Field(
        default=None, description="Keep-in-touch interval in days; null = the circle's default."
    )
    track_follow_ups: StrictBool = True
    snoozed_until: UTCDatetime | None = None


class Contact(OwnedRecord, table=True):
    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_owner_created", "owner_id", "created_at", "id"),
        Index("ix_contacts_owner_updated", "owner_id", "updated_at"),
        # Follow-ups as of now are a range scan on the maintained due date.
        Index("ix_contacts_owner_follow_up_due", "owner_id", "follow_up_due_at"),
        Index("ix_contacts_owner_last_contacted", "owner_id", "last_contacted_at"),
        # Reciprocity as of now: a page is an index range in score order.
        Index("ix_contacts_owner_reciprocity", "owner_id", "reciprocity_score", "id"),
        Index("ix_contacts_owner_last_resolved", "owner_id", "last_resolved_at"),
        Index("ix_contacts_owner_sync", "owner_id", "sync_seq", "id"),
        tombstone_index("contacts"),
        # Import matches contacts by these (app/contacts/keys.py).
        Index("ix_contacts_owner_email_key", "owner_id", "email_key"),
        Index("ix_contacts_owner_phone_key", "owner_id", "phone_key"),
    )

    full_name: str = Field(sa_type=String(200))
    email: str | None = Field(default=None, sa_type=String(320))
    phone: str | None = Field(default=None, sa_type=String(50))
    organization: str | None = Field(default=None, sa_type=String(200))
    title: str | None = Field(default=None, sa_type=String(200))
    field: str | None = Field(default=None, sa_type=String(100))
    circle: str = Field(default=Circle.other.value, sa_type=String(32))
    how_met: str | None = Field(default=None, sa_type=String(500))
    tags: list[str] = Field(default_factory=list, sa_type=JSONList)
    notes: str | None = Field(default=None, sa_type=String(10_000))
    role: str | None = Field(default=None, sa_type=String(32))
    open_to: list[str] = Field(default_factory=list, sa_type=JSONList)
    cadence_days: int | None = None
    track_follow_ups: bool = Field(default=True)
    snoozed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Server-maintained, never shown (app/contacts/follow_up.py): the latest `occurred_at` of
    # the contact's completed interactions, and `(that or created_at) + cadence`.
    last_contacted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    follow_up_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Also server-maintained (app/asks/balance.py): the contact's fulfilled asks summed as
    # weight × 2 ** (days from RECIPROCITY_EPOCH to resolved_at / 365), the score those sums
    # give (null: no fulfilled ask), and the latest resolved_at among them.
    reciprocity_given: float = Field(default=0.0)
    reciprocity_received: float = Field(default=0.0)
    reciprocity_score: float | None = Field(default=None)
    last_resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Server-maintained, never shown (app/contacts/keys.py): `email` and `phone` normalised.
    email_key: str | None = Field(default=None, sa_type=String(320))
    phone_key: str | None = Field(default=None, sa_type=String(50))


class ContactCreate(ContactFields):
    model_config = schema_config(_EXAMPLE, input=True)


class ContactUpdate(SQLModel):
    """A JSON merge patch: absent = unchanged, null = cleared (lists to `[]`)."""

    model_config = schema_config({"title": "CTO", "tags": ["compilers"], "notes": None}, input=True)

    full_name: Text(200, min_length=1) | None = None
    email: Text(320) | None = None
    phone: Text(50) | None = None
    organization: Text(200) | None = None
    title: Text(200) | None = None
    field: Text(100) | None = None
    circle: Circle | None = None
    how_met: Text(500) | None = None
    tags: Tags | None = None
    notes: Text(10_000) | None = None
    role: Role | None = None
    open_to: OpenTo | None = None
    cadence_days: CadenceDays | None = None
    track_follow_ups: StrictBool | None = None
    snoozed_until: UTCDatetime | None = None


# null empties a list; fields that always hold a value refuse null (422).
CONTACT_DEFAULTS: dict[str, Callable[[], Any]] = {"tags": list, "open_to": list}
CONTACT_REQUIRED = {"full_name", "circle", "track_follow_ups"}


class ContactPublic(ContactFields, RecordPublic):
    model_config = schema_config(
        {
            "id": "0b7e3f5e-8a0e-4d5e-9b8f-2c1d3e4f5a6b",
            **_EXAMPLE,
            "created_at": "2026-03-01T10:00:00Z",
            "updated_at": "2026-03-02T08:15:00Z",
            "version": 2,
        }
    )
