"""Request ids, JSON access lines, /metrics, CORS and trusted proxies, as a client or an operator
sees them."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.exc import StatementError

from app.core import observability
from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from tests.conftest import SECRET, sign_up
from tests.contacts.test_router import assert_problem
from tests.live import serve

SERVICE_TOKEN = "svc-metrics-" + "m" * 40
SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
HEX_ID = r"^[0-9a-f]{32}$"


def access_lines(text: str) -> list[dict[str, Any]]:
    """The `rapport.access` lines of a log (every line that looks like JSON must be JSON)."""
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return [line for line in lines if line["logger"] == "rapport.access"]


def sample(text: str, name: str, **labels: str) -> float:
    """One sample of a Prometheus exposition; 0 when the series does not exist yet."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


@pytest.fixture
async def extra_app(migrated: Settings) -> AsyncIterator[Any]:
    """Apps on the test database with other settings, disposed of at the end."""
    made: list[FastAPI] = []

    def make(**changes: Any) -> FastAPI:
        values = {"database_url": migrated.database_url, "secret_key": SECRET, **changes}
        made.append(create_app(Settings(**values)))
        return made[-1]

    yield make
    for application in made:
        await application.state.runtime.db.dispose()


def client_of(app: FastAPI, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://rapport.test")


# --- request ids ---


async def test_a_sane_request_id_is_echoed_in_the_header_and_the_problem(client):
    r = await client.get("/v1/contacts", headers={"X-Request-ID": "checkout-42.retry_1"})
    body = assert_problem(r, 401)
    assert r.headers["x-request-id"] == "checkout-42.retry_1"
    assert body["request_id"] == "checkout-42.retry_1"


@pytest.mark.parametrize(
    "given", ["", "has space", "x" * 129, "semi;colon", 'quote"d', "slash/ed", "ünï"]
)
async def test_an_unsafe_request_id_is_replaced(client, given):
    r = await client.get("/no-such-route", headers={"X-Request-ID": given.encode()})
    body = assert_problem(r, 404)
    assert r.headers["x-request-id"] != given
    assert len(r.headers["x-request-id"]) == 32 and int(r.headers["x-request-id"], 16) >= 0
    assert body["request_id"] == r.headers["x-request-id"]


async def test_without_a_request_id_one_is_generated_for_each_request(client, alice):
    first = await client.get("/v1/contacts", headers=alice)
    second = await client.get("/v1/contacts", headers=alice)
    assert first.status_code == second.status_code == 200
    ids = {first.headers["x-request-id"], second.headers["x-request-id"]}
    assert len(ids) == 2 and all(len(i) == 32 for i in ids)


async def test_a_request_id_of_128_characters_is_kept(client):
    given = "a" * 128
    assert (await client.get("/healthz", headers={"X-Request-ID": given})).headers[
        "x-request-id"
    ] == given


# --- the access line ---


async def test_one_json_line_per_request_with_route_status_duration_and_id(client, capsys):
    capsys.readouterr()
    email = f"logline-{uuid.uuid4().hex[:8]}@example.com"
    password = "correct horse battery staple"
    calls = [
        await client.get("/healthz", headers={"X-Request-ID": "line-1"}),
        await client.post("/v1/auth/register", json={"email": email, "password": password}),
        await client.get(f"/v1/contacts/{uuid.uuid4()}", headers={"X-Request-ID": "line-3"}),
    ]
    token = (
        await client.post("/v1/auth/token", data={"username": email, "password": password})
    ).json()["access_token"]
    contact_id = str(uuid.uuid4())
    calls.append(
        await client.get(f"/v1/contacts/{contact_id}", headers={"Authorization": f"Bearer {token}"})
    )
    out = capsys.readouterr().out
    lines = access_lines(out)
    assert len(lines) == 5, out
    by_id = {line["request_id"]: line for line in lines}
    assert [by_id[r.headers["x-request-id"]]["status"] for r in calls] == [200, 201, 401, 404]
    healthz, register, anonymous, missing = (by_id[r.headers["x-request-id"]] for r in calls)
    assert healthz["route"] == "/healthz" and healthz["method"] == "GET"
    assert register["route"] == "/v1/auth/register" and register["method"] == "POST"
    # The template, never the path: no ids, and one series per route.
    assert missing["route"] == anonymous["route"] == "/v1/contacts/{contact_id}"
    for line in lines:
        assert set(line) >= {"time", "level", "method", "route", "status", "duration_ms", "client"}
        assert line["level"] == "INFO"
        assert datetime.fromisoformat(line["time"]).tzinfo is not None
        assert isinstance(line["duration_ms"], float | int) and line["duration_ms"] >= 0
        assert line["client"] == "127.0.0.1"
    # No secret and no personal data: passwords, tokens, ids in paths, emails.
    for secret in (password, token, contact_id, email):
        assert secret not in out


async def test_an_unmatched_path_is_one_route_label(client, capsys):
    capsys.readouterr()
    for path in ("/nothing", "/v2/contacts", f"/{uuid.uuid4()}"):
        assert_problem(await client.get(path), 404)
    lines = access_lines(capsys.readouterr().out)
    assert [line["route"] for line in lines] == ["unmatched"] * 3


async def test_an_unexpected_error_is_a_500_problem_counted_and_logged_without_sql_values(
    extra_app, capsys
):
    app = extra_app()

    @app.get("/boom", include_in_schema=False)
    async def boom() -> None:
        params = {"notes": "my private note about Ada"}
        raise StatementError("boom", "UPDATE contacts SET notes = :notes", params, None)

    before = observability.exposition()[0].decode()
    capsys.readouterr()
    async with client_of(app) as c:
        r = await c.get("/boom", headers={"X-Request-ID": "boom-1"})
    body = assert_problem(r, 500)
    assert body["request_id"] == r.headers["x-request-id"] == "boom-1"
    out = capsys.readouterr().out
    logged = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    [error] = [line for line in logged if "exception" in line]
    assert error["request_id"] == "boom-1" and error["level"] == "ERROR"
    assert "StatementError" in error["exception"]
    assert "my private note" not in out
    [access] = [line for line in logged if line["logger"] == "rapport.access"]
    assert access["status"] == 500 and access["route"] == "/boom"
    after = observability.exposition()[0].decode()
    name = "rapport_unhandled_exceptions_total"
    assert sample(after, name) == sample(before, name) + 1
    problems = "rapport_problems_total"
    assert sample(after, problems, status="500") == sample(before, problems, status="500") + 1


# --- /metrics, in process ---


async def test_metrics_is_not_there_without_a_service_credential(client):
    body = assert_problem(await client.get("/metrics"), 404)
    assert body["request_id"]


async def test_metrics_is_not_in_the_openapi_document(app):
    assert "/metrics" not in app.openapi()["paths"]


# --- CORS ---


async def test_a_configured_origin_may_call_and_read_the_headers_it_needs(extra_app):
    app = extra_app(cors_origins=["https://app.example.com"])
    preflight = {
        "Origin": "https://app.example.com",
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization, content-type, if-match, "
        "idempotency-key, x-request-id",
    }
    async with client_of(app) as c:
        r = await c.options("/v1/contacts/" + str(uuid.uuid4()), headers=preflight)
        assert r.status_code == 200, r.text
        assert r.headers["access-control-allow-origin"] == "https://app.example.com"
        assert "PATCH" in r.headers["access-control-allow-methods"]
        allowed = r.headers["access-control-allow-headers"].lower()
        for header in ("authorization", "if-match", "if-none-match", "idempotency-key"):
            assert header in allowed
        assert "x-request-id" in allowed

        r = await c.get("/healthz", headers={"Origin": "https://app.example.com"})
        assert r.headers["access-control-allow-origin"] == "https://app.example.com"
        exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
        assert exposed == {"etag", "location", "retry-after", "x-request-id"}


async def test_another_origin_is_not_allowed(extra_app):
    app = extra_app(cors_origins=["https://app.example.com"])
    async with client_of(app) as c:
        r = await c.options(
            "/v1/contacts",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert r.status_code == 400
        assert "access-control-allow-origin" not in r.headers
        r = await c.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers


async def test_without_configured_origins_there_are_no_cors_headers(client):
    r = await client.options(
        "/v1/contacts",
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in r.headers
    r = await client.get("/healthz", headers={"Origin": "https://app.example.com"})
    assert "access-control-allow-origin" not in r.headers


# --- trusted proxies ---

FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}


async def _feed_url_and_logged_client(app: FastAPI, peer: str, capsys: Any) -> tuple[str, str]:
    capsys.readouterr()
    async with client_of(app, peer) as c:
        auth = await sign_up(c)
        r = await c.post("/v1/me/calendar-token", headers={**auth, **FORWARDED})
    assert r.status_code == 201, r.text
    [line] = [
        line
        for line in access_lines(capsys.readouterr().out)
        if line["route"] == "/v1/me/calendar-token"
    ]
    return r.json()["url"], line["client"]


@pytest.mark.parametrize(
    ("trusted", "peer", "honoured"),
    [
        (None, "127.0.0.1", True),  # the default: a proxy on the same host
        (None, "198.51.100.4", False),
        (["10.0.0.0/8"], "10.20.30.40", True),
        (["10.0.0.0/8"], "127.0.0.1", False),
        (["10.0.0.0/8"], "11.0.0.1", False),
    ],
)
async def test_forwarded_headers_count_only_from_a_trusted_proxy(
    extra_app, capsys, trusted, peer, honoured
):
    app = extra_app(**({"trusted_proxies": trusted} if trusted else {}))
    url, logged_client = await _feed_url_and_logged_client(app, peer, capsys)
    if honoured:
        assert url.startswith("https://") and logged_client == "203.0.113.9"
    else:
        assert url.startswith("http://") and logged_client == peer


# --- /metrics through a live server with two workers ---


@pytest.fixture
def two_workers(migrated: Settings, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    log_path = tmp_path / "server.log"
    with (
        patch.dict(os.environ, {"RAPPORT_SERVICE_TOKEN": SERVICE_TOKEN}),
        serve(migrated.database_url, log_path, "--workers", "2", "--log-level", "warning") as base,
    ):
        yield base, log_path


def _pool_size_per_worker(settings: Settings) -> int:
    # The pool the app builds from these settings (no connection is opened).
    return int(Database(settings).writer.sync_engine.pool.size())  # type: ignore[attr-defined]


def test_metrics_sum_every_worker_and_show_the_counters_moving(migrated, two_workers):
    base, log_path = two_workers
    # A new connection per request, so that both workers serve some of them.
    fresh = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(base_url=base, timeout=30, limits=fresh) as http:
        # The credential, and nothing else, opens it.
        assert_problem(http.get("/metrics"), 401)
        assert_problem(http.get("/metrics", headers={"Authorization": "Bearer nope"}), 401)
        assert_problem(http.get("/metrics", headers={"Authorization": SERVICE_TOKEN}), 401)

        def scrape() -> str:
            r = http.get("/metrics", headers=SERVICE)
            assert r.status_code == 200, r.text
            assert r.headers["content-type"].startswith("text/plain")
            return r.text

        # Each worker reports its pool once started: the sum covers both.
        expected_pool = 2 * _pool_size_per_worker(migrated)
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        while sample(scrape(), "rapport_db_pool_size", engine="writer") != expected_pool:
            assert datetime.now(UTC) < deadline, scrape()

        before = scrape()
        for i in range(12):
            assert http.get("/healthz", headers={"X-Request-ID": f"probe-{i}"}).status_code == 200
        auth = _sign_up(http)
        r = http.post("/v1/contacts", json={"full_name": "Ada", "cadence_days": 30}, headers=auth)
        assert r.status_code == 201, r.text
        assert_problem(http.get(f"/v1/contacts/{uuid.uuid4()}", headers=auth), 404)
        later = (datetime.now(UTC) + timedelta(days=90)).isoformat()
        mine = http.post("/v1/scheduler/run", json={"as_of": later}, headers=auth).json()
        everyone = http.post("/v1/scheduler/run", json={"as_of": later}, headers=SERVICE).json()
        assert mine["scope"] == "user" and mine["tasks_created"] >= 1
        assert everyone["scope"] == "all"
        after = scrape()

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    healthz = {"method": "GET", "route": "/healthz", "status": "200"}
    assert moved("rapport_http_requests_total", **healthz) == 12
    assert moved("rapport_http_request_duration_seconds_count", **healthz) == 12
    assert moved("rapport_http_request_duration_seconds_bucket", le="+Inf", **healthz) == 12
    one_contact = {"method": "GET", "route": "/v1/contacts/{contact_id}", "status": "404"}
    assert moved("rapport_http_requests_total", **one_contact) == 1
    assert moved("rapport_problems_total", status="404") == 1
    # Three refused scrapes, before the baseline; none since.
    assert sample(after, "rapport_problems_total", status="401") >= 3
    assert moved("rapport_problems_total", status="401") == 0
    assert moved("rapport_scheduler_runs_total", scope="user") == 1
    assert moved("rapport_scheduler_runs_total", scope="all") == 1
    assert moved("rapport_scheduler_tasks_created_total", scope="user") == mine["tasks_created"]
    assert moved("rapport_scheduler_tasks_created_total", scope="all") == everyone["tasks_created"]
    scrapes = {"method": "GET", "route": "/metrics", "status": "200"}
    assert moved("rapport_http_requests_total", **scrapes) == 1  # the baseline scrape itself
    assert sample(after, "rapport_db_pool_connections_in_use", engine="writer") >= 0

    # The server's log: JSON lines, one per request, none with a secret.
    log = log_path.read_text()
    lines = access_lines(log)
    probes = [line for line in lines if line["request_id"].startswith("probe-")]
    assert sorted(line["request_id"] for line in probes) == sorted(f"probe-{i}" for i in range(12))
    assert all(line["route"] == "/healthz" and line["status"] == 200 for line in probes)
    assert SERVICE_TOKEN not in log and auth["Authorization"].split()[1] not in log
    for line in log.splitlines():
        assert line.startswith("{") or line.startswith(("INFO:", "WARNING:")), line


def _sign_up(http: httpx.Client) -> dict[str, str]:
    email = f"metrics-{uuid.uuid4().hex[:8]}@example.com"
    credentials = {"email": email, "password": "correct horse battery"}
    assert http.post("/v1/auth/register", json=credentials).status_code == 201
    form = {"username": email, "password": credentials["password"]}
    token = http.post("/v1/auth/token", data=form).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}
