"""The sync clock: where each change sits in the feed, and how far a reader can trust it.

Every insert into a synced table, and every change of a record's `version`, stamps the row's
`sync_seq`. A reader first takes a *watermark* W, then reads rows; the promise is that any
transaction that commits later stamps its rows with a value >= W. A client that next asks for
`sync_seq >= W` therefore never misses a write, however writers and readers interleave, at the
price of receiving a few records twice (upserts are idempotent).

- PostgreSQL: the stamp is the writing transaction's id (`pg_current_xact_id()`), and the
  watermark is the oldest transaction still running (`xmin` of the reader's snapshot). A write
  that takes its id before a reader but commits after it — the classic trap of sequences and
  timestamps — has an id >= that xmin, so the next pull sees it.
- SQLite: writers are serialised (BEGIN IMMEDIATE) and each write transaction first bumps a
  one-row counter (`app/core/db.py`); rows are stamped with the counter's value. A reader that
  sees counter value v has seen every transaction up to v, so W = v + 1.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Integer, Text, cast, event, func, inspect, text
from sqlalchemy.orm import Session, object_session
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.db import SYNC_TICK_INFO, session_dialect


class SyncClock(SQLModel, table=True):
    """SQLite only: one row counting write transactions (PostgreSQL uses transaction ids)."""

    __tablename__ = "sync_clock"

    id: int = Field(default=1, primary_key=True, sa_type=Integer)
    value: int = Field(default=0, sa_type=BigInteger, nullable=False)


def stamp(dialect: str) -> ColumnElement[int]:
    """The `sync_seq` of a row written by the current transaction."""
    if dialect == "postgresql":
        return cast(cast(func.pg_current_xact_id(), Text), BigInteger)
    return select(col(SyncClock.value)).where(col(SyncClock.id) == 1).scalar_subquery()


async def watermark(session: AsyncSession) -> int:
    """Every transaction that commits after this call stamps its rows with at least this.

    Take it before reading the rows it guards."""
    if session_dialect(session) == "postgresql":
        sql = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
        return int((await session.exec(text(sql))).scalar_one())  # type: ignore[call-overload]
    value = (await session.exec(select(col(SyncClock.value)))).first()
    return (value or 0) + 1


_STAMP_KEY = "sync_stamp"
_CURRENT = {
    "postgresql": "SELECT pg_current_xact_id()::text::bigint",
    "sqlite": "SELECT value FROM sync_clock WHERE id = 1",
}


def _flush_stamp(connection: Any, target: Any) -> int:
    """The transaction's stamp as a number, read once per transaction.

    A number rather than the SQL expression lets the ORM send many inserts as one statement
    (an expression in a row makes it insert that row alone): an import of thousands of
    contacts. It is constant within a transaction on both databases."""
    session = object_session(target)
    info = session.info if session is not None else connection.info
    value = info.get(_STAMP_KEY)
    if value is None:
        # SQLite's transaction took its value as it began (app/core/db.py): no statement.
        value = connection.info.get(SYNC_TICK_INFO) if connection.dialect.name == "sqlite" else None
        if value is None:
            value = connection.exec_driver_sql(_CURRENT[connection.dialect.name]).scalar_one()
        info[_STAMP_KEY] = value = int(value)
    return int(value)


def _forget_stamp(session: Session, _transaction: Any) -> None:
    session.info.pop(_STAMP_KEY, None)


def _stamp_insert(_mapper: Any, connection: Any, target: Any) -> None:
    target.sync_seq = _flush_stamp(connection, target)


def _stamp_update(_mapper: Any, connection: Any, target: Any) -> None:
    # Only a change clients can see (the version moves with it) enters the feed; the contact
    # columns the server maintains for follow-ups and reciprocity do not.
    if inspect(target).attrs.version.history.has_changes():
        target.sync_seq = _flush_stamp(connection, target)


def stamp_flushes(base: type) -> None:
    """Stamp every ORM insert and version change of `base`'s table models.

    Statements written in SQL (bulk updates, INSERT … SELECT) set `sync_seq=stamp(dialect)`
    themselves."""
    event.listen(base, "before_insert", _stamp_insert, propagate=True)
    event.listen(base, "before_update", _stamp_update, propagate=True)
    if not event.contains(Session, "after_transaction_end", _forget_stamp):
        event.listen(Session, "after_transaction_end", _forget_stamp)
