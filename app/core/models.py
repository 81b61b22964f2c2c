"""Columns every owned record shares: identity, ownership, timestamps, version, tombstone."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BigInteger, Index, text
from sqlmodel import Field, SQLModel
from sqlmodel._compat import SQLModelConfig

from app.core.db import UTCDateTime, utcnow
from app.core.types import UTCDatetime
from app.sync.clock import stamp_flushes


def schema_config(*examples: dict[str, Any], input: bool = False) -> SQLModelConfig:
    """Model config with OpenAPI examples; input models refuse unknown fields (422)."""
    config: dict[str, Any] = {"json_schema_extra": {"examples": list(examples)}}
    if input:
        config["extra"] = "forbid"
    else:
        config.update(OUTPUT_SCHEMA)
    return cast(SQLModelConfig, config)


# Output models: a field with a default is still always sent, so the document says `required`
# and generated clients type it as present (not `X | Unset`, not `field?:`).
OUTPUT_SCHEMA: dict[str, Any] = {"json_schema_serialization_defaults_required": True}


# The rows `deleted_at` marks: a partial index over them finds the tombstones to purge.
TOMBSTONE = text("deleted_at IS NOT NULL")


def tombstone_index(table: str) -> Index:
    """Tombstones past the sync retention are purged by age, across users."""
    return Index(
        f"ix_{table}_tombstones", "deleted_at", postgresql_where=TOMBSTONE, sqlite_where=TOMBSTONE
    )


class RecordPublic(SQLModel):
    """The server-owned fields of every resource, as clients see them."""

    id: uuid.UUID
    created_at: UTCDatetime
    updated_at: UTCDatetime
    version: int = Field(description="Starts at 1 and grows by one on every change.")


class OwnedRecord(SQLModel):
    """Mixin for table models owned by one user and tombstoned on delete (for sync)."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="users.id", index=False, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    version: int = Field(default=1, nullable=False)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    # Where the last change sits in the sync feed (app/sync/clock.py stamps it on every
    # insert and every version change); never shown.
    sync_seq: int = Field(
        default=0, sa_type=BigInteger, nullable=False, sa_column_kwargs={"server_default": "0"}
    )


stamp_flushes(OwnedRecord)
