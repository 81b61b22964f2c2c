"""Interactions: how and when the user talked with a contact."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String, text
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime
from app.core.models import OwnedRecord, RecordPublic, schema_config, tombstone_index
from app.core.types import Text, UTCDatetime


class Channel(StrEnum):
    """How you met or talked; face-to-face meetings are the most effective."""

    in_person = "in_person"
    video = "video"
    phone = "phone"
    letter = "letter"
    email = "email"
    message = "message"
    online = "online"


class InteractionKind(StrEnum):
    """What kind of exchange it was."""

    meeting = "meeting"
    informational_interview = "informational_interview"
    check_in = "check_in"
    event = "event"
    introduction = "introduction"
    other = "other"


class InteractionStatus(StrEnum):
    """`planned` (ahead), `completed` (it happened) or `cancelled`."""

    planned = "planned"
    completed = "completed"
    cancelled = "cancelled"


class Proposer(StrEnum):
    """Who proposed the meeting time: `me` or the `contact`."""

    me = "me"
    contact = "contact"


_EXAMPLE: dict[str, Any] = {
    "contact_id": "0b7e3f5e-8a0e-4d5e-9b8f-2c1d3e4f5a6b",
    "channel": "in_person",
    "kind": "informational_interview",
    "status": "planned",
    "occurred_at": "2026-12-03T15:00:00Z",
    "objective": "Learn how her team hires junior compiler engineers.",
    "summary": None,
    "time_proposed_by": "contact",
}

LIVE_COMPLETED = text("status = 'completed' AND deleted_at IS NULL")

Objective = Text(1000)
Summary = Text(10_000)


class InteractionFields(SQLModel):
    channel: Channel
    kind: InteractionKind = InteractionKind.other
    status: InteractionStatus = InteractionStatus.completed
    occurred_at: UTCDatetime = Field(description="When it happened, or is planned.")
    objective: Objective | None = Field(
        default=None, description='What you want from it ("be clear about your objectives").'
    )
    summary: Summary | None = None
    time_proposed_by: Proposer | None = Field(
        default=None,
        description="For planned meetings: who proposed the time. `me` asks for a "
        "confirmation task (meet at the convenience of your contact).",
    )


class Interaction(OwnedRecord, table=True):
    __tablename__ = "interactions"
    __table_args__ = (
        Index("ix_interactions_owner_created", "owner_id", "created_at", "id"),
        # The scheduler re-checks recently changed records (and sync reads changes).
        Index("ix_interactions_owner_updated", "owner_id", "updated_at"),
        Index("ix_interactions_owner_sync", "owner_id", "sync_seq", "id"),
        tombstone_index("interactions"),
        # A contact's latest completed interaction (before a time): one backward probe of an
        # index that holds nothing else, so the table is not read.
        Index(
            "ix_interactions_contact_completed",
            "contact_id",
            "occurred_at",
            postgresql_where=LIVE_COMPLETED,
            sqlite_where=LIVE_COMPLETED,
        ),
    )

    contact_id: uuid.UUID = Field(foreign_key="contacts.id", ondelete="CASCADE")
    channel: str = Field(sa_type=String(32))
    kind: str = Field(sa_type=String(32))
    status: str = Field(sa_type=String(16))
    occurred_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    objective: str | None = Field(default=None, sa_type=String(1000))
    summary: str | None = Field(default=None, sa_type=String(10_000))
    time_proposed_by: str | None = Field(default=None, sa_type=String(16))


class InteractionCreate(InteractionFields):
    model_config = schema_config(_EXAMPLE, input=True)

    contact_id: uuid.UUID


class InteractionUpdate(SQLModel):
    """A JSON merge patch. `contact_id` cannot change: log a new interaction instead."""

    model_config = schema_config(
        {"status": "completed", "summary": "She offered to introduce me to her manager."},
        input=True,
    )

    channel: Channel | None = None
    kind: InteractionKind | None = None
    status: InteractionStatus | None = None
    occurred_at: UTCDatetime | None = None
    objective: Objective | None = None
    summary: Summary | None = None
    time_proposed_by: Proposer | None = None


INTERACTION_REQUIRED = {"channel", "kind", "status", "occurred_at"}


class InteractionPublic(InteractionFields, RecordPublic):
    model_config = schema_config(
        {
            "id": "5d2c8e1a-3b4f-4a6e-9c7d-1e2f3a4b5c6d",
            **_EXAMPLE,
            "created_at": "2026-11-20T10:00:00Z",
            "updated_at": "2026-11-20T10:00:00Z",
            "version": 1,
        }
    )

    contact_id: uuid.UUID
