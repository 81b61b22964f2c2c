"""Waiting requests get pooled connections in arrival order (`app/core/pool.py`).

SQLAlchemy's asyncio pool let a newcomer take a just-returned connection ahead of the requests
already waiting, and under load some of them waited seconds.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.util import greenlet_spawn

from app.core.config import Settings
from app.core.pool import FairQueuePool, _FairQueue
from app.main import create_app
from tests.conftest import sign_up


def _engine(tmp_path: Path, timeout: float = 5) -> object:
    return create_async_engine(
        f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}",
        poolclass=FairQueuePool,
        pool_size=1,
        max_overflow=0,
        pool_timeout=timeout,
    )


async def test_a_newcomer_waits_behind_those_already_waiting() -> None:
    queue = _FairQueue(2)
    order: list[str] = []

    async def take(name: str) -> None:
        order.append(f"{name}: {await greenlet_spawn(queue.get, True, None)}")

    waiting = [asyncio.create_task(take(name)) for name in ("first", "second")]
    for _ in range(10):  # both are queued
        await asyncio.sleep(0)
    # A newcomer that runs before the first waiter has been woken: the connection returned
    # now is the first waiter's all the same.
    newcomer = asyncio.create_task(take("newcomer"))
    queue.put_nowait("a")
    for _ in range(10):
        await asyncio.sleep(0)
    queue.put("b")  # blocking or not, a put serves the longest waiter
    queue.put_nowait("c")
    await asyncio.gather(*waiting, newcomer)
    assert order == ["first: a", "second: b", "newcomer: c"]


async def test_waiting_past_the_timeout_is_the_pools_busy_error_and_loses_nothing(
    tmp_path: Path,
) -> None:
    engine = _engine(tmp_path, timeout=0.05)
    try:
        async with engine.connect():  # type: ignore[attr-defined]
            with pytest.raises(PoolTimeoutError):
                async with engine.connect():  # type: ignore[attr-defined]
                    pass
        async with engine.connect():  # type: ignore[attr-defined]  # the connection is back
            pass
        assert engine.sync_engine.pool.checkedin() == 1  # type: ignore[attr-defined]
    finally:
        await engine.dispose()  # type: ignore[attr-defined]


async def test_a_waiter_cancelled_as_it_is_served_passes_the_connection_on() -> None:
    queue = _FairQueue(1)
    waiter = asyncio.create_task(greenlet_spawn(queue.get, True, None))
    for _ in range(10):  # it waits
        await asyncio.sleep(0)
    queue.put_nowait("connection")  # handed to the waiter...
    waiter.cancel()  # ...which gives up before it runs
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert queue.get_nowait() == "connection"


async def test_more_concurrent_requests_than_connections_are_all_served(
    migrated: Settings, app: FastAPI
) -> None:
    # One PostgreSQL connection per process (SQLite: one writer, as always).
    narrow = create_app(migrated.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0}))
    transport = httpx.ASGITransport(app=narrow)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://rapport.test") as c:
            auth = await sign_up(c)
            created = await asyncio.gather(
                *(
                    c.post("/v1/contacts", json={"full_name": f"Burst {n}"}, headers=auth)
                    for n in range(20)
                )
            )
            assert [r.status_code for r in created] == [201] * 20
            read = await asyncio.gather(
                *(c.get(f"/v1/contacts/{r.json()['id']}", headers=auth) for r in created)
            )
            assert [r.status_code for r in read] == [200] * 20
    finally:
        await narrow.state.runtime.db.dispose()
