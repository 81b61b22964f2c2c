"""What every owned resource's service does the same way: read, list, lock for a write under
If-Match, merge a patch, tombstone. Services add their own rules around these."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar

from app.core.db import utcnow
from app.core.errors import NotFound
from app.core.etags import IfMatch
from app.core.models import OwnedRecord
from app.core.pagination import CursorCodec
from app.core.patch import apply_merge_patch
from app.core.repository import OwnedRepository

M = TypeVar("M", bound=OwnedRecord)


class Records(Generic[M]):
    def __init__(self, repo: OwnedRepository[M], missing: str) -> None:
        self.repo = repo
        self.missing = missing

    async def get(self, record_id: uuid.UUID, *, lock: bool = False) -> M:
        record = await self.repo.get(record_id, lock=lock)
        if record is None:
            raise NotFound(self.missing)
        return record

    async def read(self, record_id: uuid.UUID, columns: tuple[str, ...]) -> Any:
        """The record's `columns` as a read-only row, for a response: `get` without the ORM
        instance."""
        row = await self.repo.read(record_id, columns)
        if row is None:
            raise NotFound(self.missing)
        return row

    async def list(
        self,
        filters: dict[str, Any],
        *,
        cursor: str | None,
        limit: int,
        codec: CursorCodec,
        columns: tuple[str, ...] | None = None,
    ) -> tuple[list[M], str | None]:
        conditions = self.repo.conditions(**filters)
        return await self.repo.page(
            conditions, filters=filters, cursor=cursor, limit=limit, codec=codec, columns=columns
        )

    async def for_write(self, record_id: uuid.UUID, if_match: IfMatch) -> M:
        """The record, locked against concurrent writers, once `If-Match` holds."""
        record = await self.get(record_id, lock=True)
        if_match.check(record.version)
        return record

    async def merge(
        self,
        record: M,
        changes: Mapping[str, Any],
        *,
        required: set[str],
        defaults: Mapping[str, Callable[[], Any]] | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Apply a merge patch; a change bumps the version. Returns whether anything changed."""
        if not apply_merge_patch(record, changes, required=required, defaults=defaults):
            return False
        self.repo.touch(record, now)
        await self.repo.session.flush()
        return True

    async def delete(self, record_id: uuid.UUID, if_match: IfMatch) -> M:
        record = await self.for_write(record_id, if_match)
        self.repo.tombstone(record, utcnow())
        await self.repo.session.flush()
        return record
