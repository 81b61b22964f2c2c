"""SQLite for the async engine without a thread per connection.

aiosqlite gives each connection a thread and hands every call (execute, fetch, close, BEGIN,
COMMIT, the pool's reset) to it and back: about nine thread round trips for a one-statement
read, each waiting for the GIL behind the event loop (measured: a contact read served 362
requests a second against the hand-written baseline's 2,817). SQLite statements on an indexed
page take microseconds to a few milliseconds, less than those hand-offs, so Rapport keeps
SQLAlchemy's aiosqlite dialect but gives it, through its `async_creator` hook, connections
whose coroutines run the standard `sqlite3` module on the event loop's own thread.

Nothing here may wait for long: readers never wait for a lock in WAL mode (their busy timeout
is short, for the rare moments they do), and writers take the write lock with
`begin_immediate`, which retries on "database is locked" with `asyncio.sleep` (the loop keeps
serving) instead of SQLite's busy handler (which would block it). Once the write lock is held,
nothing in the transaction waits for another connection.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.util import await_only


class _Cursor:
    """aiosqlite's cursor interface over a `sqlite3.Cursor`, run in place."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> _Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> _Cursor:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Any) -> _Cursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """The part of aiosqlite's connection interface SQLAlchemy's adapter uses, over a
    `sqlite3.Connection` that it runs in place."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        # `_connection` is what the adapter checks to see whether it is still open.
        self._connection: sqlite3.Connection | None = connection

    @property
    def _live(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._live.isolation_level

    def cursor(self) -> _Cursor:
        return _Cursor(self._live.cursor())

    async def commit(self) -> None:
        self._live.commit()

    async def rollback(self) -> None:
        self._live.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._live.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Closes at once (aiosqlite's name: SQLAlchemy calls it to terminate a connection)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def connector(path: str) -> Callable[[], Coroutine[Any, Any, InlineConnection]]:
    """`async_creator` for `create_async_engine("sqlite+aiosqlite://…")`."""

    async def connect() -> InlineConnection:
        # Autocommit at the driver: SQLAlchemy's `begin` events issue BEGIN (app/core/db.py).
        # `check_same_thread` off: pooled connections are closed by whichever thread disposes
        # of the engine; every statement runs on the loop's thread.
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        return InlineConnection(connection)

    return connect


def begin_immediate(conn: Connection, timeout_ms: float) -> None:
    """BEGIN IMMEDIATE, waiting for the write lock without blocking the event loop.

    Called inside SQLAlchemy's greenlet (a `begin` event): `await_only` yields to the loop while
    another process holds the lock, backing off from 1 ms to 20 ms. After `timeout_ms` the last
    "database is locked" error stands, as SQLite's busy timeout would raise it.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    delay = 0.001
    while True:
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as error:
            if "locked" not in str(error.orig) or time.monotonic() >= deadline:
                raise
        await_only(asyncio.sleep(delay))
        delay = min(delay * 2, 0.02)
