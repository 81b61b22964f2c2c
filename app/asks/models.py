"""Asks: help requested from a contact (outgoing) or by a contact (incoming)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import StrictBool, StrictInt
from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime
from app.core.models import OwnedRecord, RecordPublic, schema_config, tombstone_index
from app.core.types import Text, UTCDatetime
from app.core.vocabulary import AskKind


class Direction(StrEnum):
    """`outgoing`: you ask the contact; `incoming`: the contact asks you."""

    outgoing = "outgoing"  # I ask them
    incoming = "incoming"  # they ask me


class AskStatus(StrEnum):
    """Where an ask stands; `fulfilled`, `declined` and `withdrawn` are resolved."""

    open = "open"
    accepted = "accepted"
    declined = "declined"
    fulfilled = "fulfilled"
    withdrawn = "withdrawn"


RESOLVED = frozenset({AskStatus.fulfilled, AskStatus.declined, AskStatus.withdrawn})

# Allowed status moves; staying in the same status is always allowed.
TRANSITIONS: dict[AskStatus, frozenset[AskStatus]] = {
    AskStatus.open: frozenset({AskStatus.accepted, *RESOLVED}),
    AskStatus.accepted: RESOLVED,
    AskStatus.fulfilled: frozenset({AskStatus.open}),
    AskStatus.declined: frozenset({AskStatus.open}),
    AskStatus.withdrawn: frozenset({AskStatus.open}),
}

Statement = Text(2000, min_length=1)
# Strict: JSON `true` or `"3"` is not an effort (pydantic would coerce them).
Effort = Annotated[StrictInt, Field(ge=1, le=5)]

_EXAMPLE: dict[str, Any] = {
    "contact_id": "0b7e3f5e-8a0e-4d5e-9b8f-2c1d3e4f5a6b",
    "direction": "outgoing",
    "kind": "feedback",
    "statement": "Could you look over my resume for a compiler-engineer role?",
    "researched": True,
    "status": "open",
    "due_at": "2026-12-15T17:00:00Z",
    "effort": None,
}


class AskFields(SQLModel):
    direction: Direction
    kind: AskKind
    statement: Statement = Field(
        description='What is needed, stated clearly ("know what you need and clearly state it").'
    )
    researched: StrictBool = Field(
        default=False,
        description="I checked this cannot be found by my own research.",
    )
    status: AskStatus = AskStatus.open
    due_at: UTCDatetime | None = None
    effort: Effort | None = Field(
        default=None, description="1–5; overrides the kind's weight in reciprocity."
    )


class Ask(OwnedRecord, table=True):
    __tablename__ = "asks"
    __table_args__ = (
        Index("ix_asks_owner_created", "owner_id", "created_at", "id"),
        # The scheduler re-checks recently changed records (and sync reads changes).
        Index("ix_asks_owner_updated", "owner_id", "updated_at"),
        Index("ix_asks_owner_sync", "owner_id", "sync_seq", "id"),
        tombstone_index("asks"),
        Index("ix_asks_contact_status", "contact_id", "status"),
        # Reciprocity (fulfilled, by resolved_at), promises and nudges (by status, direction).
        Index("ix_asks_owner_status_resolved", "owner_id", "status", "resolved_at"),
        Index("ix_asks_owner_status_direction", "owner_id", "status", "direction", "created_at"),
        Index("ix_asks_owner_status_direction_due", "owner_id", "status", "direction", "due_at"),
    )

    contact_id: uuid.UUID = Field(foreign_key="contacts.id", ondelete="CASCADE")
    direction: str = Field(sa_type=String(16))
    kind: str = Field(sa_type=String(32))
    statement: str = Field(sa_type=String(2000))
    researched: bool = False
    status: str = Field(sa_type=String(16))
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    effort: int | None = None


class AskCreate(AskFields):
    model_config = schema_config(_EXAMPLE, input=True)

    contact_id: uuid.UUID


class AskUpdate(SQLModel):
    """A JSON merge patch. `contact_id` and `direction` cannot change."""

    model_config = schema_config({"status": "fulfilled"}, input=True)

    kind: AskKind | None = None
    statement: Statement | None = None
    researched: StrictBool | None = None
    status: AskStatus | None = None
    due_at: UTCDatetime | None = None
    effort: Effort | None = None


ASK_REQUIRED = {"kind", "statement", "researched", "status"}


class WarningCode(StrEnum):
    """Which piece of networking etiquette an outgoing ask may break."""

    ask_for_job = "ask_for_job"
    outside_comfort = "outside_comfort"
    not_researched = "not_researched"
    pending_ask = "pending_ask"
    reciprocity_imbalance = "reciprocity_imbalance"


class EtiquetteWarning(SQLModel):
    model_config = schema_config(
        {
            "code": "not_researched",
            "message": "Check first that this cannot be found by your own research.",
        }
    )

    code: WarningCode
    message: str = Field(description="A sentence an app can show as is.")


class AskPublic(AskFields, RecordPublic):
    model_config = schema_config(
        {
            "id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            **_EXAMPLE,
            "resolved_at": None,
            "etiquette_warnings": [],
            "created_at": "2026-11-20T10:00:00Z",
            "updated_at": "2026-11-20T10:00:00Z",
            "version": 1,
        }
    )

    contact_id: uuid.UUID
    resolved_at: UTCDatetime | None = Field(
        description="Set by the server when the ask is fulfilled, declined or withdrawn."
    )
    etiquette_warnings: list[EtiquetteWarning] = Field(
        description="Advice for outgoing asks; never blocks the ask."
    )
