"""Two replicas on one PostgreSQL database behave as one service.

Every request a test makes goes to a real uvicorn process (two of them, `tests/replicas/
conftest.py`); whatever one replica knows, the other must know too, because all of it lives in
the database. Requests sent "at once" are gathered on one event loop over real sockets, so the
two processes really do run them at the same time; no assertion depends on how they interleave.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx

from tests import lists
from tests.conftest import sign_up
from tests.replicas.conftest import MAX_FAILURES_PER_ACCOUNT, SERVICE_TOKEN, Replicas, count
from tests.scheduler.test_concurrency import (
    assert_once_per_contact,
    at,
    at_once,
    due_contact,
    iso,
    scheduled_tasks,
    taking_contact,
)
from tests.sync.helpers import Replica as OfflineCopy
from tests.sync.helpers import assert_same, server_state
from tests.sync.test_convergence import Writer

Clients = tuple[httpx.AsyncClient, httpx.AsyncClient]
CONTACTS = "/v1/contacts"
SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
REPLAYED = ("content-type", "location", "etag")


async def contacts_named(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> list:
    return [
        c
        for c in await lists.walk(client, headers, url=CONTACTS, limit=200)
        if c["full_name"] == name
    ]


# --- Idempotency-Key ---


async def test_a_write_retried_on_the_other_replica_gets_the_first_answer(clients: Clients):
    a, b = clients
    headers = await sign_up(a)
    sent = {**headers, "Idempotency-Key": str(uuid.uuid4())}
    first = await a.post(CONTACTS, json={"full_name": "Ada Lovelace"}, headers=sent)
    assert first.status_code == 201, first.text
    assert first.headers["location"] and first.headers["etag"]

    retried = await b.post(CONTACTS, json={"full_name": "Ada Lovelace"}, headers=sent)
    assert retried.status_code == 201, retried.text
    assert retried.headers.get("idempotent-replayed") == "true"
    assert retried.content == first.content
    assert {h: retried.headers.get(h) for h in REPLAYED} == {h: first.headers[h] for h in REPLAYED}
    assert [c["id"] for c in await contacts_named(b, headers, "Ada Lovelace")] == [
        first.json()["id"]
    ]


async def test_the_same_key_on_both_replicas_at_once_writes_one_record(clients: Clients):
    a, b = clients
    headers = await sign_up(a)
    for round_ in range(8):
        name = f"Grace {round_}"
        sent = {**headers, "Idempotency-Key": str(uuid.uuid4())}
        # Alternate which replica is asked first, so either may win the key.
        first, second = (a, b) if round_ % 2 else (b, a)
        responses = await at_once(
            first.post(CONTACTS, json={"full_name": name}, headers=sent),
            second.post(CONTACTS, json={"full_name": name}, headers=sent),
        )
        originals = [
            r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers
        ]
        assert len(originals) == 1, [(r.status_code, r.text) for r in responses]
        [original] = originals
        [other] = [r for r in responses if r is not original]
        if other.status_code == 201:  # it came after the first finished: the replay
            assert other.headers["idempotent-replayed"] == "true"
            assert other.content == original.content
        else:  # it came while the first was running: retry later, the key is taken
            assert other.status_code == 409, other.text
            assert other.json()["type"] == "/problems/idempotency-key-in-flight"
            assert other.headers["retry-after"]
        # A retry on either replica now gets the first answer.
        for client in (a, b):
            again = await client.post(CONTACTS, json={"full_name": name}, headers=sent)
            assert (again.status_code, again.content) == (201, original.content)
        assert [c["id"] for c in await contacts_named(a, headers, name)] == [original.json()["id"]]


# --- Login throttling ---


async def test_failed_logins_on_both_replicas_lock_the_account_at_the_limit(clients: Clients):
    a, b = clients
    email = f"locked-{uuid.uuid4().hex[:10]}@example.com"
    password = "correct horse battery"
    r = await a.post("/v1/auth/register", json={"email": email, "password": password})
    assert r.status_code == 201, r.text

    def attempt(client: httpx.AsyncClient, secret: str) -> Any:
        return client.post("/v1/auth/token", data={"username": email, "password": secret})

    # The failures alternate between the replicas: neither sees the limit on its own.
    for n in range(MAX_FAILURES_PER_ACCOUNT):
        r = await attempt((a, b)[n % 2], "wrong password")
        assert r.status_code == 401, (n, r.text)
    for client in (a, b, b, a):
        r = await attempt(client, "wrong password")
        assert r.status_code == 429, r.text
        assert int(r.headers["retry-after"]) > 0
        assert r.json()["type"] == "/problems/too-many-requests"
    # Locked means locked: the right password waits too, on either replica.
    for client in (a, b):
        r = await attempt(client, password)
        assert r.status_code == 429, r.text
        assert int(r.headers["retry-after"]) > 0


async def test_failed_logins_sent_to_both_replicas_at_once_get_the_limit_of_checks(
    clients: Clients,
):
    """Attempts at the same moment must not all count the failures before any is recorded:
    no more than the limit of them are answered 401 (each a password guess checked)."""
    a, b = clients
    for _ in range(2):
        email = f"burst-{uuid.uuid4().hex[:10]}@example.com"
        r = await a.post("/v1/auth/register", json={"email": email, "password": "right password"})
        assert r.status_code == 201, r.text
        attempts = 4 * MAX_FAILURES_PER_ACCOUNT
        responses = await at_once(
            *(
                (a, b)[i % 2].post("/v1/auth/token", data={"username": email, "password": "wrong"})
                for i in range(attempts)
            )
        )
        statuses = sorted(r.status_code for r in responses)
        expected = [401] * MAX_FAILURES_PER_ACCOUNT + [429] * (attempts - MAX_FAILURES_PER_ACCOUNT)
        assert statuses == expected


# --- If-Match ---


async def test_concurrent_conditional_writes_on_both_replicas_have_one_winner(clients: Clients):
    a, b = clients
    headers = await sign_up(a)
    for round_ in range(3):
        created = await b.post(CONTACTS, json={"full_name": f"Contested {round_}"}, headers=headers)
        assert created.status_code == 201, created.text
        url, etag = f"{CONTACTS}/{created.json()['id']}", created.headers["etag"]
        writers = 10
        responses = await at_once(
            *(
                (a, b)[i % 2].patch(
                    url, json={"notes": f"writer {i}"}, headers={**headers, "If-Match": etag}
                )
                for i in range(writers)
            )
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [412] * (writers - 1), [r.text for r in responses]
        [winner] = [r for r in responses if r.status_code == 200]
        for r in responses:
            if r.status_code == 412:
                assert r.headers["content-type"].startswith("application/problem+json")
        final = await (b if round_ % 2 else a).get(url, headers=headers)
        assert final.status_code == 200
        assert final.json()["notes"] == winner.json()["notes"]
        assert final.headers["etag"] == winner.headers["etag"] != etag


# --- Scheduler ---


async def test_overlapping_all_users_runs_on_both_replicas_create_each_task_once(
    clients: Clients, replicas: Replicas
):
    a, b = clients
    users = [await sign_up((a, b)[i % 2]) for i in range(6)]
    expected: list[tuple[set[str], set[str]]] = [(set(), set()) for _ in users]
    as_of = at(3 * timedelta(days=1))
    for round_ in range(2):
        for i, headers in enumerate(users):
            client = (a, b)[(i + round_) % 2]
            made = await asyncio.gather(
                due_contact(client, headers, f"Due {round_}.1"),
                due_contact(client, headers, f"Due {round_}.2"),
                *([taking_contact(client, headers, f"Helper {round_}")] if i % 2 else []),
            )
            expected[i][0].update(c["id"] for c in made[:2])
            expected[i][1].update(c["id"] for c in made[2:])
        tasks_before = await count(replicas.database_url, "SELECT count(*) FROM etiquette_tasks")
        all_users = await count(replicas.database_url, "SELECT count(*) FROM users")

        body = {"as_of": iso(as_of)}
        runs = await at_once(
            *(c.post("/v1/scheduler/run", json=body, headers=SERVICE) for c in (a, b, a))
        )
        assert [r.status_code for r in runs] == [200] * 3, [r.text for r in runs]
        results = [r.json() for r in runs]
        assert all(r["scope"] == "all" for r in results)
        # Every user handled by exactly one of the runs, every task created by exactly one.
        assert sum(r["users"] for r in results) == all_users, [r["users"] for r in results]
        tasks_after = await count(replicas.database_url, "SELECT count(*) FROM etiquette_tasks")
        created = [r["tasks_created"] for r in results]
        assert sum(created) == tasks_after - tasks_before, created
        assert sum(created) >= sum(2 + i % 2 for i in range(len(users)))
        for i, headers in enumerate(users):
            found = await scheduled_tasks((a, b)[i % 2], headers)
            assert_once_per_contact(found, *expected[i])
        as_of += timedelta(days=1)


# --- Sync ---


async def pull(clients: Clients, headers: dict[str, str], copy: OfflineCopy) -> None:
    """Pull until `has_more` is false, each page from the other replica than the last, with
    the cursor the last one gave."""
    while True:
        params: dict[str, Any] = {"limit": 5}  # small pages: a sequence spans many writes
        if copy.cursor is not None:
            params["cursor"] = copy.cursor
        r = await clients[copy.pages % 2].get("/v1/sync", params=params, headers=headers)
        assert r.status_code == 200, r.text
        copy.apply(r.json())
        if not r.json()["has_more"]:
            return


async def test_a_client_syncing_from_both_replicas_during_writes_ends_equal(
    clients: Clients, replicas: Replicas
):
    a, b = clients
    headers = await sign_up(a)
    for n in range(5):
        assert (await b.post(CONTACTS, json={"full_name": f"Seed {n}"}, headers=headers)).is_success
    # Devices writing through both replicas at once (threads: each its own blocking client).
    bases = (replicas.a, replicas.b) * 2
    writers = [Writer(base, headers, seed) for seed, base in enumerate(bases)]
    for w in writers:
        w.start()
    copy = OfflineCopy()
    while any(w.is_alive() for w in writers):
        await pull(clients, headers, copy)
    for w in writers:
        w.join()
    assert [f for w in writers for f in w.failures] == []
    await pull(clients, headers, copy)

    truth = await server_state(b, headers)
    assert sum(len(records) for records in truth.values()) > 20  # the writers did write
    assert_same(copy, truth)
