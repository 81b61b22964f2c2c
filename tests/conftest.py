"""Fixtures: the same suite on SQLite and on a throwaway PostgreSQL cluster."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from unittest.mock import patch

import asyncpg
import httpx
import pytest
from alembic.config import Config
from fastapi import FastAPI
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import text
from sqlmodel import SQLModel

import app.models
from alembic import command
from app.core import security
from app.core.config import Settings
from app.main import create_app
from tests.pg import PostgresCluster, PostgresUnavailable

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-secret-" + "x" * 40
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# An id no record has. Fixed, not uuid4(): pytest-xdist workers must collect the same test ids.
UNKNOWN_ID = "5d0c8a5e-0000-4000-8000-000000000000"

pytest_plugins = ["tests.live"]  # the `live_server` fixture


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2id at the production cost takes ~85 ms a sign-up (hash and verify), and most
    tests sign up one or two users. In-process tests use a cheap Argon2id; hashes still read
    their own parameters, so a live server (its own process, the real cost) verifies them."""
    cheap = PasswordHash((Argon2Hasher(memory_cost=1024, time_cost=1, parallelism=1),))
    with (
        patch.object(security, "_hasher", cheap),
        patch.object(security, "_DUMMY_HASH", cheap.hash("not a password")),
    ):
        yield


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL: RAPPORT_TEST_POSTGRES_URL, or a cluster started for this session."""
    given = os.environ.get("RAPPORT_TEST_POSTGRES_URL")
    if given:
        yield _database_per_worker(given)
        return
    try:
        cluster = PostgresCluster()
        url = cluster.start()
    except PostgresUnavailable as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        yield url
    finally:
        cluster.stop()


def _database_per_worker(url: str) -> str:
    """Under pytest-xdist every worker cleans the tables after each test, so workers sharing a
    given server each get a database of their own (`<name>_gw0`, …), made afresh."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base, _, name = url.rpartition("/")
    name = name.split("?", 1)[0]
    own = f"{name}_{worker}"

    async def create() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{own}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return f"{base}/{own}"


@pytest.fixture(scope="session")
def sqlite_url() -> Iterator[str]:
    folder = tempfile.mkdtemp(prefix="rapport-sqlite-")
    yield f"sqlite:///{folder}/rapport.db"


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    return config


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key=SECRET)


@pytest.fixture(scope="session")
def migrated(settings: Settings) -> Settings:
    command.upgrade(alembic_config(settings.database_url), "head")
    return settings


@pytest.fixture(scope="session")
async def app(migrated: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(migrated)
    yield application
    await application.state.runtime.db.dispose()


@pytest.fixture(autouse=True)
async def _clean_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    yield
    if "app" not in request.fixturenames:
        return
    application: FastAPI = request.getfixturevalue("app")
    db = application.state.runtime.db
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    # DELETE, not TRUNCATE: on tables this small it is several times faster on PostgreSQL.
    async with db.writer.begin() as conn:
        for name in tables:
            await conn.execute(text(f"DELETE FROM {name}"))


SERVICE_TOKEN = "svc-" + "y" * 40
SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}


@asynccontextmanager
async def service_app(settings: Settings, **overrides: object) -> AsyncIterator[FastAPI]:
    """A second app on the same database that holds the service credential (`SERVICE`):
    another replica, as a cron calls it. `overrides` are further settings."""
    extra = create_app(
        Settings(
            database_url=settings.database_url,
            secret_key=SECRET,
            service_token=SERVICE_TOKEN,
            **overrides,  # type: ignore[arg-type]
        )
    )
    try:
        yield extra
    finally:
        await extra.state.runtime.db.dispose()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rapport.test") as c:
        yield c


async def sign_up(
    client: httpx.AsyncClient, email: str | None = None, password: str = "correct horse battery"
) -> dict[str, str]:
    """Register and log in a fresh user; returns the Authorization header."""
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
    r = await client.post("/v1/auth/register", json={"email": email, "password": password})
    assert r.status_code == 201, r.text
    r = await client.post("/v1/auth/token", data={"username": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> dict[str, str]:
    return await sign_up(client, "alice@example.com")


@pytest.fixture
async def bob(client: httpx.AsyncClient) -> dict[str, str]:
    return await sign_up(client, "bob@example.com")
