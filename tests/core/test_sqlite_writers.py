"""SQLite writers of one process queue for the write connection in order.

SQLite runs one write transaction at a time. When each request had a connection of its own,
the waiting ones sat in SQLite's busy handler, which polls and serves no one in order: under a
burst (the load soak's 48 clients), some lost every round until the busy timeout and answered
503 "database is locked". With a busy timeout of 0, any two writers of this process that meet
at SQLite's lock show it at once; queued for the one connection, they never meet there.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from app.core.config import Settings
from app.main import create_app
from tests.conftest import sign_up


async def test_concurrent_writes_of_one_process_never_meet_at_the_sqlite_lock(
    migrated: Settings, app: FastAPI
) -> None:
    if migrated.dialect != "sqlite":
        pytest.skip("PostgreSQL locks rows, not the database")
    impatient = create_app(migrated.model_copy(update={"sqlite_busy_timeout_ms": 0}))
    transport = httpx.ASGITransport(app=impatient)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://rapport.test") as c:
            auth = await sign_up(c)
            answers = await asyncio.gather(
                *(
                    c.post("/v1/contacts", json={"full_name": f"Burst {n}"}, headers=auth)
                    for n in range(30)
                )
            )
            assert [r.status_code for r in answers] == [201] * 30, [
                r.text for r in answers if r.status_code != 201
            ][:3]
            listed = await c.get("/v1/contacts", params={"limit": 100}, headers=auth)
            assert len(listed.json()["items"]) == 30
    finally:
        await impatient.state.runtime.db.dispose()
