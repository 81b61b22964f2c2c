"""Liveness, readiness, and settings validated at start."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from app.core.config import Settings
from app.main import create_app
from tests.conftest import SECRET


async def test_healthz_and_readyz_when_the_database_answers(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ready"}


@pytest.mark.parametrize(
    "url",
    ["postgresql://nobody@127.0.0.1:1/none", "sqlite:////nonexistent-dir/for/rapport.db"],
)
async def test_readyz_is_503_problem_when_the_database_is_unreachable(url):
    app = create_app(Settings(database_url=url, secret_key=SECRET))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        assert (await c.get("/healthz")).status_code == 200
        r = await c.get("/readyz")
        assert r.status_code == 503
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "retry-after" in r.headers
    await app.state.runtime.db.dispose()


@pytest.mark.parametrize("secret", [None, "changeme", "short-secret"])
def test_postgres_with_a_missing_or_weak_secret_refuses_to_start(secret):
    with pytest.raises(ValidationError, match="RAPPORT_SECRET_KEY"):
        Settings(database_url="postgresql://u@db/rapport", secret_key=secret)


def test_unsupported_database_scheme_is_refused():
    with pytest.raises(ValidationError, match="RAPPORT_DATABASE_URL"):
        Settings(database_url="mysql://u@db/rapport")


def test_settings_come_from_rapport_environment_variables(monkeypatch):
    monkeypatch.setenv("RAPPORT_DATABASE_URL", "postgresql://u@db/rapport")
    monkeypatch.setenv("RAPPORT_SECRET_KEY", SECRET)
    monkeypatch.setenv("RAPPORT_LOGIN_MAX_FAILURES_PER_ACCOUNT", "5")
    settings = Settings()
    assert settings.dialect == "postgresql"
    assert settings.async_database_url.startswith("postgresql+asyncpg://")
    assert settings.login_max_failures_per_account == 5


async def test_a_missing_secret_is_warned_about_when_the_server_starts(caplog):
    app = create_app(Settings(database_url="sqlite:///:memory:"))
    with caplog.at_level("WARNING", logger="rapport"):
        async with app.router.lifespan_context(app):
            pass
    assert "RAPPORT_SECRET_KEY is not set" in caplog.text
