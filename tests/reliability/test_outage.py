"""PostgreSQL goes away under a running server, then comes back (PRODUCT.md: "Nothing is lost").

A cluster of this test's own (the session cluster serves every other test) and a real uvicorn on
it. While the database is down every request that needs it answers a 503 problem with
`Retry-After` within a bound that follows from the settings (no 500, no hang), `/readyz` is 503
and `/healthz` 200. When the database is back the same server, not restarted, serves again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from alembic import command
from tests.conftest import IN_CI, alembic_config
from tests.pg import PostgresUnavailable
from tests.reliability.servers import Server, StoppableCluster

# RAPPORT_DB_POOL_TIMEOUT_SECONDS: waiting for a pooled connection, and connecting.
POOL_TIMEOUT = 2.0
STATEMENT_TIMEOUT_MS = 2000
CLIENT_MARGIN = 2.0  # app/core/db.py: the client gives up this long after statement_timeout
# Worst case for one request against a database that answers nothing: a pooled connection's
# ping (idle over a second) or statement times out on the client (statement timeout + margin),
# then a new connection's connect times out; plus slack for a loaded machine. 11 s here.
BOUND = STATEMENT_TIMEOUT_MS / 1000 + CLIENT_MARGIN + POOL_TIMEOUT + 5
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def cluster() -> Iterator[StoppableCluster]:
    """This module's own cluster: each test leaves it running again."""
    try:
        cluster = StoppableCluster()
        url = cluster.start()
    except PostgresUnavailable as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    cluster.url = url  # type: ignore[attr-defined]
    try:
        cluster.durable_commits()
        command.upgrade(alembic_config(url), "head")
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def server(cluster: StoppableCluster, tmp_path: Path) -> Iterator[Server]:
    server = Server(
        cluster.url,  # type: ignore[attr-defined]
        tmp_path / "server.log",
        db_pool_timeout_seconds=str(POOL_TIMEOUT),
        db_statement_timeout_ms=str(STATEMENT_TIMEOUT_MS),
        db_pool_size="4",
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def timed(client: httpx.Client, method: str, url: str, **kwargs: object) -> httpx.Response:
    started = time.monotonic()
    response = client.request(method, url, **kwargs)  # type: ignore[arg-type]
    elapsed = time.monotonic() - started
    assert elapsed < BOUND, f"{method} {url} took {elapsed:.1f} s (bound {BOUND} s)"
    return response


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"].isdigit()
    body = response.json()
    assert body["status"] == 503
    assert "Traceback" not in response.text


def requests(auth: dict[str, str], key: str, email: str) -> list[tuple[str, str, dict]]:
    """Reads, writes with and without Idempotency-Key, and a login: each needs the database."""
    return [
        ("GET", "/v1/follow-ups", {"headers": auth}),
        ("POST", "/v1/contacts", {"headers": auth, "json": {"full_name": "Plain Write"}}),
        ("GET", "/v1/contacts", {"headers": auth}),
        (
            "POST",
            "/v1/contacts",
            {"headers": {**auth, "Idempotency-Key": key}, "json": {"full_name": "Keyed Write"}},
        ),
        ("POST", "/v1/auth/token", {"data": {"username": email, "password": PASSWORD}}),
    ]


def sign_in(client: httpx.Client, prefix: str) -> tuple[dict[str, str], str]:
    email = f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"
    r = client.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    token = client.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
    auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
    # Fill the pool with connections that will be dead (or stuck) once the database goes.
    for _ in range(6):
        assert client.get("/v1/contacts", headers=auth).status_code == 200
    return auth, email


def assert_all_unavailable(
    client: httpx.Client, auth: dict[str, str], key: str, email: str, rounds: int, skip: int = 0
) -> None:
    # The first request meets pooled connections whose ping (or statement) fails; later ones
    # connect anew.
    for _ in range(rounds):
        for method, url, kwargs in requests(auth, key, email)[skip:]:
            assert_unavailable(timed(client, method, url, **kwargs))
        assert_unavailable(timed(client, "GET", "/readyz"))
        assert timed(client, "GET", "/healthz").status_code == 200


def assert_recovered(client: httpx.Client, auth: dict[str, str], key: str, email: str) -> None:
    deadline = time.monotonic() + 20
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, "the server did not become ready again"
        time.sleep(0.2)
    for method, url, kwargs in requests(auth, key, email):
        r = timed(client, method, url, **kwargs)
        created = method == "POST" and url == "/v1/contacts"
        assert r.status_code == (201 if created else 200), (url, r.text)
    # The keyed write that failed during the outage was not remembered; now it was, once.
    replay = client.post(
        "/v1/contacts",
        headers={**auth, "Idempotency-Key": key},
        json={"full_name": "Keyed Write"},
    )
    assert replay.status_code == 201 and replay.headers.get("idempotent-replayed") == "true"
    names = [c["full_name"] for c in client.get("/v1/contacts", headers=auth).json()["items"]]
    assert sorted(names) == ["Keyed Write", "Plain Write"]


def test_a_stopped_database_is_503_and_the_server_recovers_without_a_restart(
    cluster: StoppableCluster, server: Server
) -> None:
    with httpx.Client(base_url=server.base, timeout=BOUND * 2) as client:
        auth, email = sign_in(client, "stopped")
        key = f"stopped-{uuid.uuid4()}"
        cluster.halt("immediate")  # connections cut, new ones refused
        assert_all_unavailable(client, auth, key, email, rounds=2)
        cluster.resume()
        assert_recovered(client, auth, key, email)
    assert "Traceback" not in server.log(), server.log()[-3000:]


def test_a_frozen_database_is_503_within_the_timeouts_and_the_server_recovers(
    cluster: StoppableCluster, server: Server
) -> None:
    """A partition or a stalled host: connections open and nothing answers, ever. Only the
    client's own timeouts (connect, and per statement) stand between a request and a hang."""
    with httpx.Client(base_url=server.base, timeout=BOUND * 2) as client:
        auth, email = sign_in(client, "frozen")
        key = f"frozen-{uuid.uuid4()}"
        cluster.freeze()
        try:
            # Once, and without the plain read and write (the stopped test has them): each
            # request waits out a timeout here.
            assert_all_unavailable(client, auth, key, email, rounds=1, skip=2)
        finally:
            cluster.thaw()
        assert_recovered(client, auth, key, email)
    assert "Traceback" not in server.log(), server.log()[-3000:]
