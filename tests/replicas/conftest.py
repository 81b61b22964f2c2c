"""Two uvicorn processes on one PostgreSQL database: replicas behind a load balancer.

The replicas get a database of their own on the session's cluster, so that what other tests
leave behind (users an all-users scheduler run would claim) cannot change the counts here.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from unittest.mock import patch

import asyncpg
import httpx
import pytest

from alembic import command
from tests.conftest import alembic_config
from tests.live import serve

SERVICE_TOKEN = "svc-" + "r" * 40
# Small, so a test reaches the account lock in a few attempts.
MAX_FAILURES_PER_ACCOUNT = 3
REPLICA_ENV = {
    "RAPPORT_SERVICE_TOKEN": SERVICE_TOKEN,
    "RAPPORT_LOGIN_MAX_FAILURES_PER_ACCOUNT": str(MAX_FAILURES_PER_ACCOUNT),
    # Small batches: an all-users run commits several times, so overlapping runs interleave.
    "RAPPORT_SCHEDULER_BATCH_SIZE": "2",
}


@dataclass(frozen=True)
class Replicas:
    a: str
    b: str
    # A direct connection string, for counting rows behind the API's back.
    database_url: str


def _asyncpg_url(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


async def _admin(url: str, statement: str) -> None:
    conn = await asyncpg.connect(_asyncpg_url(url))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def replicas_database(postgres_url: str) -> Iterator[str]:
    name = f"rapport_replicas_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(postgres_url, f'CREATE DATABASE "{name}"'))
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    try:
        command.upgrade(alembic_config(url), "head")
        yield url
    finally:
        # FORCE: a replica that failed to stop cleanly must not keep the database alive.
        asyncio.run(_admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def replicas(
    replicas_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Replicas]:
    logs = tmp_path_factory.mktemp("replicas")
    with ExitStack() as stack:
        bases = []
        # One after the other, not side by side: on a busy machine two imports of the app at
        # once could each outlast the start deadline `serve` gives one.
        for name in ("a", "b"):
            server = serve(replicas_database, logs / f"{name}.log", "--log-level", "warning")
            # `serve` hands the process the environment of the moment it starts it.
            with patch.dict(os.environ, REPLICA_ENV):
                bases.append(stack.enter_context(server))
        yield Replicas(a=bases[0], b=bases[1], database_url=replicas_database)


@pytest.fixture
async def clients(replicas: Replicas) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """One HTTP client per replica (each with its own connections)."""
    async with (
        httpx.AsyncClient(base_url=replicas.a, timeout=60) as a,
        httpx.AsyncClient(base_url=replicas.b, timeout=60) as b,
    ):
        yield a, b


async def count(database_url: str, query: str, *args: object) -> int:
    conn = await asyncpg.connect(_asyncpg_url(database_url))
    try:
        return int(await conn.fetchval(query, *args))
    finally:
        await conn.close()
