"""Etiquette tasks: the courtesies a user should not forget."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime
from app.core.models import OwnedRecord, RecordPublic, schema_config, tombstone_index
from app.core.types import Text, UTCDatetime


class TaskKind(StrEnum):
    """What the task asks of you; every kind but `custom` is made by a rule."""

    thank_you_note = "thank_you_note"
    confirm_meeting_time = "confirm_meeting_time"
    set_objective = "set_objective"
    reconnect = "reconnect"
    offer_help = "offer_help"
    custom = "custom"


class TaskStatus(StrEnum):
    """`pending` until you mark it `done` or `dismissed`."""

    pending = "pending"
    done = "done"
    dismissed = "dismissed"


class TaskSource(StrEnum):
    """`rule`: created by an etiquette rule; `manual`: created by you."""

    rule = "rule"
    manual = "manual"


MAX_TITLE = 200
Title = Text(MAX_TITLE, min_length=1)

PENDING_NOT_RECONNECT = text("status = 'pending' AND kind <> 'reconnect' AND deleted_at IS NULL")
PENDING_OFFER_HELP = text(
    "kind = 'offer_help' AND source = 'rule' AND status = 'pending' AND deleted_at IS NULL"
)

_EXAMPLE: dict[str, Any] = {
    "contact_id": "0b7e3f5e-8a0e-4d5e-9b8f-2c1d3e4f5a6b",
    "kind": "custom",
    "title": "Send Grace the article on register allocation",
    "due_at": "2026-12-05T12:00:00Z",
}


class EtiquetteTask(OwnedRecord, table=True):
    __tablename__ = "etiquette_tasks"
    __table_args__ = (
        # A rule creates at most one task per (rule, reference), ever: the database says so.
        UniqueConstraint("owner_id", "rule_key"),
        Index("ix_etiquette_tasks_owner_created", "owner_id", "created_at", "id"),
        Index("ix_etiquette_tasks_owner_sync", "owner_id", "sync_seq", "id"),
        tombstone_index("etiquette_tasks"),
        Index("ix_etiquette_tasks_owner_status_due", "owner_id", "status", "due_at"),
        # Follow-ups read pending tasks in due order, without the reconnect ones.
        Index(
            "ix_etiquette_tasks_owner_pending_due",
            "owner_id",
            "due_at",
            postgresql_where=PENDING_NOT_RECONNECT,
            sqlite_where=PENDING_NOT_RECONNECT,
        ),
        # Rule 6: at most one pending offer_help task per contact, whatever the runners do.
        Index(
            "uq_etiquette_tasks_pending_offer_help",
            "contact_id",
            unique=True,
            postgresql_where=PENDING_OFFER_HELP,
            sqlite_where=PENDING_OFFER_HELP,
        ),
    )

    contact_id: uuid.UUID = Field(foreign_key="contacts.id", ondelete="CASCADE", index=True)
    kind: str = Field(sa_type=String(32))
    title: str = Field(sa_type=String(MAX_TITLE))
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(default=TaskStatus.pending.value, sa_type=String(16))
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by: str | None = Field(default=None, sa_type=String(8))
    # When it last left `pending` (rule 6 waits 30 days after the user closes one).
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    source: str = Field(sa_type=String(8))
    rule_key: str | None = Field(default=None, sa_type=String(80))
    interaction_id: uuid.UUID | None = Field(
        default=None, foreign_key="interactions.id", ondelete="CASCADE", index=True
    )
    ask_id: uuid.UUID | None = Field(
        default=None, foreign_key="asks.id", ondelete="CASCADE", index=True
    )


class TaskCreate(SQLModel):
    """A task made by hand (`source: manual`)."""

    model_config = schema_config(_EXAMPLE, input=True)

    contact_id: uuid.UUID
    kind: TaskKind = TaskKind.custom
    title: Title
    due_at: UTCDatetime | None = None


class TaskUpdate(SQLModel):
    """A JSON merge patch. `done` sets `completed_at`; back to `pending` clears it."""

    model_config = schema_config({"status": "done"}, input=True)

    title: Title | None = None
    due_at: UTCDatetime | None = None
    status: TaskStatus | None = None


TASK_REQUIRED = {"title", "status"}


class TaskPublic(RecordPublic):
    model_config = schema_config(
        {
            "id": "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
            "contact_id": "0b7e3f5e-8a0e-4d5e-9b8f-2c1d3e4f5a6b",
            "kind": "thank_you_note",
            "title": "Write a thank-you note to Grace Hopper",
            "due_at": "2026-12-05T15:00:00Z",
            "status": "pending",
            "completed_at": None,
            "source": "rule",
            "interaction_id": "5d2c8e1a-3b4f-4a6e-9c7d-1e2f3a4b5c6d",
            "ask_id": None,
            "created_at": "2026-12-03T16:00:00Z",
            "updated_at": "2026-12-03T16:00:00Z",
            "version": 1,
        }
    )

    contact_id: uuid.UUID
    kind: TaskKind
    title: str
    due_at: UTCDatetime | None
    status: TaskStatus
    completed_at: UTCDatetime | None
    source: TaskSource
    interaction_id: uuid.UUID | None = Field(description="The interaction that caused it.")
    ask_id: uuid.UUID | None = Field(description="The ask that caused it.")
