"""Engines, sessions and the column types every domain shares."""

from __future__ import annotations

import math
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    String,
    Uuid,
    event,
    exc,
    exists,
    func,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import Settings
from app.core.pool import FairQueuePool
from app.core.sqlite_inline import begin_immediate
from app.core.sqlite_inline import connector as sqlite_connector

# One naming convention so Alembic names constraints identically on SQLite and PostgreSQL.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on every database.

    PostgreSQL stores `timestamptz`; SQLite has no time type, so values are stored as naive UTC
    text, which keeps lexical order equal to time order for range queries and keyset cursors.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; attach a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSON lists (tags, open_to): JSONB on PostgreSQL so containment can use an index.
JSONList = JSON().with_variant(postgresql.JSONB(), "postgresql")


def stored_form(columns: Any, dialect: str) -> list[Any]:
    """`columns` to SELECT for rows that are only written out as JSON (`app/core/http.py`
    `Encoder`, which reads either form): on SQLite, uuids, times and JSON arrays as their
    stored text, skipping SQLAlchemy's conversion into Python values that the encoder would
    only format back into text. Elsewhere, and for every other type, as they are."""
    if dialect != "sqlite":
        return list(columns)
    return [
        type_coerce(c, String).label(c.name) if isinstance(c.type, _STORED_AS_TEXT) else c
        for c in columns
    ]


def stored_time(value: datetime | str) -> datetime:
    """A time from a row in `stored_form`."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def stored_uuid(value: uuid.UUID | str) -> uuid.UUID:
    """A uuid from a row in `stored_form`."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


_STORED_AS_TEXT = (Uuid, UTCDateTime, JSON)


def json_array_contains(column: Any, value: str, dialect: str) -> ColumnElement[bool]:
    """`value` is one of the strings in the JSON array `column`."""
    if dialect == "postgresql":
        return column.op("@>")(func.jsonb_build_array(value))
    element = func.json_each(column).table_valued("value").alias("elem")
    return exists(select(literal_column("1")).select_from(element).where(element.c.value == value))


def json_array_any_ilike(column: Any, pattern: str, dialect: str) -> ColumnElement[bool]:
    """Some string in the JSON array `column` matches the LIKE `pattern` (case-insensitive)."""
    if dialect == "postgresql":
        element = func.jsonb_array_elements_text(column).table_valued("value").alias("elem")
    else:
        element = func.json_each(column).table_valued("value").alias("elem")
    return exists(
        select(literal_column("1"))
        .select_from(element)
        .where(element.c.value.ilike(pattern, escape="\\"))
    )


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with the user's wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


_SYNC_TICK = (
    "INSERT INTO sync_clock (id, value) VALUES (1, 1) "
    "ON CONFLICT (id) DO UPDATE SET value = value + 1 RETURNING value"
)
# Where a SQLite write transaction's clock value is kept, in its connection's `info`, for the
# rows it stamps (app/sync/clock.py): set at every BEGIN IMMEDIATE, so always the current one.
SYNC_TICK_INFO = "sync_tick"


# Readers wait at most this long (blocking the loop) in the rare moments WAL mode makes them.
_READER_BUSY_MS = 100

# How long after PostgreSQL's own statement_timeout the client gives up on a statement.
_CLIENT_TIMEOUT_MARGIN_S = 2.0


def session_dialect(session: AsyncSession) -> str:
    """`postgresql` or `sqlite`: the database a session talks to."""
    return session.bind.dialect.name if session.bind is not None else "sqlite"


class Database:
    """The engines of one app instance.

    On SQLite, writes go through an engine whose transactions start with BEGIN IMMEDIATE: the
    write lock is taken up front (waiting for it up to the busy timeout, with the event loop
    free), instead of failing with "database is locked" when a read transaction tries to
    upgrade. Reads use a plain deferred BEGIN, on connections that refuse writes, and run
    concurrently thanks to WAL. On PostgreSQL both share one pool; reads run in autocommit.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dialect = settings.dialect
        url = settings.async_database_url
        if self.dialect == "sqlite":
            self.writer = self._sqlite_engine(url, immediate=True)
            self.reader = self._sqlite_engine(url, immediate=False)
        else:
            statement_s = settings.db_statement_timeout_ms / 1000
            connect_args: dict[str, Any] = {
                # Connecting: a server that accepts TCP but never answers fails within this.
                "timeout": settings.db_pool_timeout_seconds,
                # Every statement, pre-ping included, on the client side: `statement_timeout` is
                # enforced by the server, which cannot enforce anything when it is frozen or cut
                # off by a partition. A few seconds later than it, so the server's own (cleaner)
                # error comes first whenever the server is there to send it.
                "command_timeout": statement_s + _CLIENT_TIMEOUT_MARGIN_S if statement_s else None,
                "server_settings": {
                    "statement_timeout": str(settings.db_statement_timeout_ms),
                    "application_name": "rapport",
                    # Short queries: compiling them costs more (20–80 ms measured on the
                    # scheduler's statements) than it saves.
                    "jit": "off",
                },
            }
            self.writer = create_async_engine(
                url,
                poolclass=FairQueuePool,
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_max_overflow,
                pool_timeout=settings.db_pool_timeout_seconds,
                connect_args=connect_args,
            )
            _ping_when_idle(self.writer)
            # Reads in autocommit: no BEGIN and COMMIT round trips around a read. Under READ
            # COMMITTED (PostgreSQL's default, and ours) each statement takes its own snapshot
            # inside a transaction too, so a read sees exactly what it would see in one; the
            # sync's watermark is built for that (app/sync/clock.py). Nothing a GET runs writes
            # or takes a transaction-scoped lock. Same pool as the writer.
            self.reader = self.writer.execution_options(isolation_level="AUTOCOMMIT")
        self.write_sessions = async_sessionmaker(
            self.writer, class_=AsyncSession, expire_on_commit=False, autoflush=False
        )
        self.read_sessions = async_sessionmaker(
            self.reader, class_=AsyncSession, expire_on_commit=False, autoflush=False
        )

    def _sqlite_engine(self, url: str, *, immediate: bool) -> AsyncEngine:
        # Pooled: opening a connection (five PRAGMAs, a cold page cache) cost more per request
        # than the queries of a page.
        in_memory = ":memory:" in url or url.rstrip("/").endswith(":")
        busy_ms = self.settings.sqlite_busy_timeout_ms
        # Readers: 15 connections, all kept. Overflow connections (opened for a burst, closed
        # when returned to a full pool) were opened and closed continuously under load, five
        # PRAGMAs each. Statements run one at a time on the loop anyway; a connection is held
        # for its request's transaction.
        pooling: dict[str, Any] = (
            {} if in_memory else {"poolclass": FairQueuePool, "pool_size": 15, "max_overflow": 0}
        )
        if immediate and not in_memory:
            # One writer connection per process. SQLite runs one write transaction at a time
            # anyway; with more connections, the others would poll for the lock. Here they
            # queue for the connection in order, and only one writer per process contends for
            # the lock. A writer still queued after the longer of the pool and busy timeouts
            # gets the pool's "database is busy" 503.
            pooling = {
                "poolclass": FairQueuePool,
                "pool_size": 1,
                "max_overflow": 0,
                "pool_timeout": max(self.settings.db_pool_timeout_seconds, busy_ms / 1000),
            }
        parsed = make_url(url)
        engine = create_async_engine(
            url, async_creator=sqlite_connector(parsed.database or ":memory:"), **pooling
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # Statements run on the event loop (app/core/sqlite_inline.py): SQLite's busy
            # handler would block it. Writers wait for the lock in `begin_immediate` instead;
            # readers never wait for one in WAL mode but for rare moments (recovery), which
            # the short wait covers.
            cursor.execute(f"PRAGMA busy_timeout={0 if immediate else _READER_BUSY_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            if not immediate:
                # Read requests are never committed (app/core/routing.py): a write attempted
                # through them must fail, not vanish.
                cursor.execute("PRAGMA query_only=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            try:
                cursor.execute("SELECT pow(2, 2)")
            except Exception:  # SQLite built without its math functions: reciprocity needs pow
                dbapi_conn.create_function("pow", 2, math.pow, deterministic=True)
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            if not immediate:
                conn.exec_driver_sql("BEGIN")
                return
            begin_immediate(conn, busy_ms)
            # The sync clock (app/sync/clock.py): every write transaction takes the next
            # value, in commit order since writers are serialised.
            conn.info[SYNC_TICK_INFO] = int(conn.exec_driver_sql(_SYNC_TICK).scalar_one())

        return engine

    def sessions_for(self, method: str) -> async_sessionmaker[AsyncSession]:
        return self.read_sessions if method in {"GET", "HEAD", "OPTIONS"} else self.write_sessions

    async def ping(self) -> None:
        async with self.reader.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


# A pooled connection idle this long is pinged before use. SQLAlchemy's pool_pre_ping pings at
# every checkout: one to three round trips (BEGIN, the ping, ROLLBACK) before each request's
# own, which doubled the cost of a one-statement read. A connection in steady use is known
# alive; one that died under load fails its request with a 503 and invalidates the pool, so
# the next request reconnects.
PING_AFTER_IDLE_S = 1.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        # Empty after a (re)connect: the record's `info` is cleared when it is invalidated.
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as error:
            # The pool reconnects this one and recycles every connection older than it.
            raise exc.InvalidatePoolError(f"ping failed: {type(error).__name__}") from error


def insert_ignoring_conflicts(table: Any, dialect: str, *conflict_columns: str) -> Any:
    """INSERT … ON CONFLICT (columns) DO NOTHING, on either database.

    For "at most one, ever" rules: a concurrent writer that loses the race inserts nothing,
    instead of the check-then-insert race creating two.
    """
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=conflict_columns)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=conflict_columns)
