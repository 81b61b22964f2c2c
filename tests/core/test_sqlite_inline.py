"""SQLite runs on the event loop's thread (app/core/sqlite_inline.py), so nothing may wait there.

A writer that meets another process's write lock waits with the loop free: other requests are
answered meanwhile, the write goes through once the lock is released, and after the busy
timeout it is a 503 that wrote nothing. If SQLite's own busy handler did the waiting, it would
hold the loop (and every request of the worker) for as long as the lock is held.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.core.config import Settings
from tests.conftest import service_app, sign_up


@contextmanager
def write_lock_held(settings: Settings) -> Iterator[sqlite3.Connection]:
    """Another process's write transaction: the database's write lock, taken and held."""
    other = sqlite3.connect(settings.database_url.split("///", 1)[1], isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield other
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()


def _sqlite_only(settings: Settings) -> None:
    if settings.dialect != "sqlite":
        pytest.skip("SQLite's write lock")


async def _get_ok(client: httpx.AsyncClient, path: str, auth: dict[str, str]) -> None:
    r = await client.get(path, headers=auth)
    assert r.status_code == 200, r.text


async def test_a_writer_waiting_for_the_lock_leaves_the_loop_serving(migrated: Settings) -> None:
    _sqlite_only(migrated)
    async with service_app(migrated, sqlite_busy_timeout_ms=20_000) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rapport.test") as c:
            auth = await sign_up(c)
            with write_lock_held(migrated) as other:
                write = asyncio.create_task(
                    c.post("/v1/contacts", json={"full_name": "Waits"}, headers=auth)
                )
                await asyncio.sleep(0.3)
                assert not write.done()
                # Reads and the health probe are answered while the write still waits. With the
                # busy handler waiting on the loop, they would only be answered after the write
                # (its 20 s timeout, or the lock's release below).
                for path in ("/healthz", "/v1/contacts"):
                    await _get_ok(c, path, auth)
                assert not write.done()
                other.execute("COMMIT")
                created = await asyncio.wait_for(write, 10)
            assert created.status_code == 201, created.text
            listed = await c.get("/v1/contacts", headers=auth)
            assert [item["full_name"] for item in listed.json()["items"]] == ["Waits"]


async def test_a_writer_gives_up_after_the_busy_timeout_and_writes_nothing(
    migrated: Settings,
) -> None:
    _sqlite_only(migrated)
    async with service_app(migrated, sqlite_busy_timeout_ms=3_000) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rapport.test") as c:
            auth = await sign_up(c)
            with write_lock_held(migrated):
                started = time.monotonic()
                write = asyncio.create_task(
                    c.post("/v1/contacts", json={"full_name": "Refused"}, headers=auth)
                )
                await asyncio.sleep(0.2)
                await _get_ok(c, "/healthz", auth)
                assert not write.done()
                refused = await asyncio.wait_for(write, 30)
                waited = time.monotonic() - started
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert "Retry-After" in refused.headers
            assert waited >= 2.9  # the busy timeout, give or take the clock's resolution
            listed = await c.get("/v1/contacts", headers=auth)
            assert listed.json()["items"] == []
            # The lock is free again: the same write goes through.
            again = await c.post("/v1/contacts", json={"full_name": "Refused"}, headers=auth)
            assert again.status_code == 201, again.text


async def test_read_requests_cannot_write(migrated: Settings) -> None:
    """Read requests are closed, not committed (app/core/routing.py): a write slipped into one
    fails loudly instead of being rolled back unseen."""
    _sqlite_only(migrated)
    async with service_app(migrated) as app, app.state.runtime.db.read_sessions() as session:
        with pytest.raises(OperationalError, match="readonly"):
            await (await session.connection()).execute(text("DELETE FROM users"))
