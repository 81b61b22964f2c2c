"""Pooled PostgreSQL connections that died while idle (app/core/db.py `_ping_when_idle`).

A connection in steady use is not pinged before each request (that cost a round trip or three
per request); one left idle past `PING_AFTER_IDLE_S` is. So a connection the server, a proxy or
a firewall closed while the pool held it is replaced without the client noticing, and one that
died between two quick requests costs one 503 (retryable, nothing written) after which the
whole pool is renewed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.core import db as db_module
from app.core.config import Settings
from tests.conftest import service_app, sign_up

POOLED = 4


@pytest.fixture
async def own_app(migrated: Settings) -> AsyncIterator[FastAPI]:
    if migrated.dialect != "postgresql":
        pytest.skip("PostgreSQL connections")
    async with service_app(migrated) as app:
        yield app


async def _pool_backends(app: FastAPI) -> list[int]:
    """Fills the app's pool with POOLED connections and returns their server pids."""
    engine = app.state.runtime.db.writer
    connections = [await engine.connect() for _ in range(POOLED)]
    try:
        return [
            (await c.execute(text("SELECT pg_backend_pid()"))).scalar_one() for c in connections
        ]
    finally:
        for c in connections:
            await c.close()


async def _terminate(settings: Settings, pids: list[int]) -> None:
    # From a connection of its own: the app's pool holds only the victims.
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", pids)
    finally:
        await conn.close()


@asynccontextmanager
async def _pool_killed(
    app: FastAPI, settings: Settings
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """A signed-in client of `app`, whose pooled connections the server has just closed."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rapport.test") as c:
        auth = await sign_up(c)
        await _terminate(settings, await _pool_backends(app))
        yield c, auth


async def _all_served(c: httpx.AsyncClient, auth: dict[str, str]) -> None:
    """As many reads at once as the pool held connections, then a write: all go through."""
    reads = await asyncio.gather(*(c.get("/v1/contacts", headers=auth) for _ in range(POOLED)))
    assert [r.status_code for r in reads] == [200] * POOLED, [r.text for r in reads]
    created = await c.post("/v1/contacts", json={"full_name": "After"}, headers=auth)
    assert created.status_code == 201, created.text


async def test_connections_closed_while_idle_are_replaced_unseen(
    own_app: FastAPI, migrated: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_S", 0.2)
    async with _pool_killed(own_app, migrated) as (c, auth):
        await asyncio.sleep(0.3)
        await _all_served(c, auth)


async def test_a_connection_dead_between_quick_requests_costs_one_retryable_503(
    own_app: FastAPI, migrated: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_S", 60.0)
    async with _pool_killed(own_app, migrated) as (c, auth):
        first = await c.get("/v1/contacts", headers=auth)
        assert first.status_code == 503, first.text
        assert first.headers["content-type"] == "application/problem+json"
        assert "Retry-After" in first.headers
        # The failure renewed the whole pool: every later request meets a live connection.
        await _all_served(c, auth)
