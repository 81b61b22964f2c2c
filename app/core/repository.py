"""The repository every owned resource shares: scoped to one owner, blind to tombstones.

Ownership is part of every query, so another user's record is indistinguishable from a
missing one. Repositories build queries and flush; they never commit.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Integer, bindparam, tuple_, update
from sqlalchemy import select as sa_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.db import session_dialect, stored_form, stored_time, stored_uuid, utcnow
from app.core.errors import BadRequest
from app.core.models import OwnedRecord
from app.core.pagination import CursorCodec, filters_digest
from app.sync.clock import stamp

M = TypeVar("M", bound=OwnedRecord)


def _owned_live(
    model: type[OwnedRecord], columns: tuple[str, ...] | None, dialect: str | None = None
) -> Any:
    """SELECT the owner's live records, `owner_id` a named parameter: their `columns` as plain
    rows (each column read costs a conversion per row), or ORM instances when None. With a
    `dialect`, the columns come in their stored form (`stored_form`), for rows that are only
    written out."""
    table = model.__table__  # type: ignore[attr-defined]
    if columns is None:
        stmt: Any = select(model)
    else:
        selected = [table.c[n] for n in columns]
        stmt = sa_select(*(selected if dialect is None else stored_form(selected, dialect)))
    return stmt.where(table.c.owner_id == bindparam("owner_id"), table.c.deleted_at.is_(None))


# The statements below are built once: building and cache-keying `select(...).where(...)` on
# every call cost more than loading the rows.


@functools.cache
def _read_statement(model: type[OwnedRecord], columns: tuple[str, ...]) -> Any:
    return _owned_live(model, columns).where(model.__table__.c.id == bindparam("record_id"))  # type: ignore[attr-defined]


@functools.cache
def _page_statement(
    model: type[OwnedRecord], columns: tuple[str, ...] | None, after: bool, dialect: str
) -> Any:
    """A page in (created_at, id) order, with `owner_id`, `page_limit` and, after a cursor,
    `after_time` and `after_id` as named parameters. A list's filters are added to it."""
    table = model.__table__  # type: ignore[attr-defined]
    stmt = _owned_live(model, columns, dialect)
    if after:
        # A row-value comparison: the databases seek the (owner_id, created_at, id) index to
        # the page's start, where the OR form scanned every earlier row on every page.
        start = tuple_(
            bindparam("after_time", type_=table.c.created_at.type),
            bindparam("after_id", type_=table.c.id.type),
        )
        stmt = stmt.where(tuple_(table.c.created_at, table.c.id) > start)
    return stmt.order_by(table.c.created_at, table.c.id).limit(
        bindparam("page_limit", type_=Integer)
    )


class OwnedRepository(Generic[M]):
    model: type[M]
    # The WHERE terms for a list's filters (keyword arguments); each resource defines its own.
    conditions: Callable[..., list[ColumnElement[bool]]]

    def __init__(self, session: AsyncSession, owner_id: uuid.UUID) -> None:
        self.session = session
        self.owner_id = owner_id
        self.dialect = session_dialect(session)

    async def get(self, record_id: uuid.UUID, *, lock: bool = False) -> M | None:
        stmt = _owned_live(self.model, None).where(col(self.model.id) == record_id)
        if lock:
            # Serialises concurrent writers of one record on PostgreSQL; SQLite writers are
            # already serialised by BEGIN IMMEDIATE. NO KEY UPDATE (ids never change): it does
            # not wait for, or deadlock with, the KEY SHARE locks that inserting a child row
            # (an interaction of this contact) takes through its foreign key.
            stmt = stmt.with_for_update(key_share=True)
        owner = {"owner_id": self.owner_id}
        result: M | None = (await self.session.exec(stmt, params=owner)).first()
        return result

    async def read(self, record_id: uuid.UUID, columns: tuple[str, ...]) -> Any | None:
        """The live record's `columns` as a read-only row (attributes as on the model), for a
        response only: no ORM instance is loaded, and the statement is built once."""
        result = await self.session.exec(
            _read_statement(self.model, columns),
            params={"owner_id": self.owner_id, "record_id": record_id},
        )
        return result.first()

    async def get_many(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, M]:
        if not ids:
            return {}
        stmt = _owned_live(self.model, None).where(col(self.model.id).in_(ids))
        found = await self.session.exec(stmt, params={"owner_id": self.owner_id})
        return {record.id: record for record in found.all()}

    def add(self, record: M) -> M:
        record.owner_id = self.owner_id
        record.created_at = record.updated_at = utcnow()
        self.session.add(record)
        return record

    def touch(self, record: M, now: datetime | None = None) -> None:
        record.updated_at = now or utcnow()
        record.version += 1
        self.session.add(record)

    async def tombstone_where(self, *conditions: ColumnElement[bool], now: datetime) -> None:
        """Tombstone every live record matching `conditions`, in one statement."""
        m = self.model
        await self.session.exec(
            update(m)
            .where(col(m.owner_id) == self.owner_id, col(m.deleted_at).is_(None), *conditions)
            .values(
                deleted_at=now,
                updated_at=now,
                version=col(m.version) + 1,
                sync_seq=stamp(self.dialect),
            )
        )

    def tombstone(self, record: M, now: datetime | None = None) -> None:
        now = now or utcnow()
        record.deleted_at = now
        self.touch(record, now)

    async def page(
        self,
        conditions: list[ColumnElement[bool]],
        *,
        filters: dict[str, Any],
        cursor: str | None,
        limit: int,
        codec: CursorCodec,
        columns: tuple[str, ...] | None = None,
    ) -> tuple[list[M], str | None]:
        """One page in (created_at, id) order, and the cursor of the next page if any.

        `columns`: read only these, as read-only rows in their stored form (`stored_form`:
        attributes named as on the model, values as `Encoder` reads them), for a page that is
        only written out: loading ORM instances cost more than the query. They include
        `created_at` and `id`, the cursor's."""
        m = self.model
        # The owner is part of the digest: another user's cursor is a 400, not a page of the
        # caller's own records that silently starts at a stranger's position.
        digest = filters_digest(
            {"resource": m.__tablename__, "owner": str(self.owner_id), **filters}
        )
        after: tuple[datetime, uuid.UUID] | None = None
        if cursor is not None:
            data = codec.decode(cursor)
            try:
                if data.get("f") != digest:
                    raise ValueError("filters differ")
                after_time = datetime.fromisoformat(data["t"])
                after_id = uuid.UUID(data["i"])
            except (KeyError, TypeError, ValueError):
                raise BadRequest(
                    "The cursor does not belong to this list; start again without one."
                ) from None
            after = (after_time, after_id)
        params: dict[str, Any] = {"owner_id": self.owner_id, "page_limit": limit + 1}
        if after is not None:
            params.update(after_time=after[0], after_id=after[1])
        # WHERE terms may follow ORDER BY and LIMIT in a built statement: they render in place.
        stmt = _page_statement(m, columns, after is not None, self.dialect).where(*conditions)
        rows: list[M] = list((await self.session.exec(stmt, params=params)).all())
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            next_cursor = codec.encode(
                {
                    "f": digest,
                    "t": stored_time(last.created_at).isoformat(),
                    "i": str(stored_uuid(last.id)),
                }
            )
        return rows, next_cursor
