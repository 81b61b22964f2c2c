"""Injected failures and exact snapshots of the database, for the atomicity tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel


class InjectedFault(RuntimeError):
    """The failure a test injects: stands for a bug, a lost connection, a full disk."""


@contextmanager
def fail_on(engine: AsyncEngine, pattern: str, nth: int = 1) -> Iterator[list[str]]:
    """Raise `InjectedFault` before the `nth` statement matching `pattern` reaches the database.

    Yields the statements that matched, so a test can check that the failure really came in the
    middle of the work (earlier statements of the same kind had already run).
    """
    matcher = re.compile(pattern, re.IGNORECASE)
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if matcher.search(statement):
            seen.append(statement)
            if len(seen) == nth:
                raise InjectedFault(f"injected before statement {nth} matching {pattern!r}")

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)


async def snapshot(engine: AsyncEngine) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table, tombstones and bookkeeping (sync clock, keys) included."""
    tables: dict[str, list[tuple[str, ...]]] = {}
    async with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            rows = (await conn.execute(text(f"SELECT * FROM {table.name}"))).all()
            tables[table.name] = sorted(tuple(repr(value) for value in row) for row in rows)
    return tables


def counts(state: dict[str, list[tuple[str, ...]]]) -> dict[str, int]:
    return {name: len(rows) for name, rows in state.items()}
