"""The feed under concurrent writes: a client that keeps syncing ends with the server's data.

Writers and a puller run at the same time (threads against a real uvicorn, and a transaction
held open across a pull), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.contacts import service as contacts
from app.contacts.models import ContactCreate
from tests.conftest import sign_up
from tests.sync.helpers import Replica, assert_same, server_state, sync

WRITERS = 3
OPERATIONS = 40


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Writer(threading.Thread):
    """Random writes of every kind a user makes, including ones that cascade or run rules."""

    def __init__(self, base: str, headers: dict[str, str], seed: int) -> None:
        super().__init__()
        self.http = httpx.Client(base_url=base, headers=headers, timeout=30)
        self.rng = random.Random(seed)
        self.failures: list[str] = []

    def pick(self, path: str) -> dict[str, Any] | None:
        items = self.http.get(path, params={"limit": 200}).json()["items"]
        return self.rng.choice(items) if items else None

    def check(self, r: httpx.Response) -> None:
        # 404/409/412: another writer got there first; 503: a deadlock victim, to retry.
        if r.status_code >= 500 and r.status_code != 503:
            request = r.request
            self.failures.append(f"{request.method} {request.url.path}: {r.status_code} {r.text}")

    def patch(self, path: str, body: dict[str, Any]) -> None:
        found = self.pick(path)
        if found is not None:
            self.check(self.http.patch(f"{path}/{found['id']}", json=body))

    def step(self) -> None:
        ops = ["contact"] * 3 + ["patch", "delete", "meeting", "ask", "fulfil", "unmeet", "task"]
        op = self.rng.choice([*ops, "run"])
        now = datetime.now(UTC)
        if op == "contact":
            self.check(self.http.post("/v1/contacts", json={"full_name": f"C{self.rng.random()}"}))
        elif op == "patch":
            self.patch("/v1/contacts", {"notes": str(self.rng.random())})
        elif op == "fulfil":
            self.patch("/v1/asks", {"status": "fulfilled"})
        elif op == "task":
            self.patch("/v1/etiquette-tasks", {"status": "done"})
        elif op == "unmeet":
            found = self.pick("/v1/interactions")
            if found is not None:
                self.check(self.http.delete(f"/v1/interactions/{found['id']}"))
        elif op == "run":  # reconnect tasks for every contact due before then
            later = iso(now + timedelta(days=200))
            self.check(self.http.post("/v1/scheduler/run", json={"as_of": later}))
        elif (target := self.pick("/v1/contacts")) is not None:
            cid = target["id"]
            if op == "delete":
                self.check(self.http.delete(f"/v1/contacts/{cid}"))
            elif op == "meeting":
                when = iso(now - timedelta(days=self.rng.randint(0, 90)))
                body = {"contact_id": cid, "channel": "in_person", "kind": "meeting",
                        "status": "completed", "occurred_at": when}  # fmt: skip
                self.check(self.http.post("/v1/interactions", json=body))
            elif op == "ask":
                body = {"contact_id": cid, "direction": self.rng.choice(["outgoing", "incoming"]),
                        "kind": "advice", "statement": "Advice on a career move"}  # fmt: skip
                self.check(self.http.post("/v1/asks", json=body))

    def run(self) -> None:
        try:
            for _ in range(OPERATIONS):
                self.step()
        except Exception as exc:  # surfaced by the test, not lost in the thread
            self.failures.append(repr(exc))
        finally:
            self.http.close()


def pull(http: httpx.Client, replica: Replica, limit: int) -> None:
    while True:
        params: dict[str, Any] = {"limit": limit}
        if replica.cursor:
            params["cursor"] = replica.cursor
        r = http.get("/v1/sync", params=params)
        assert r.status_code == 200, r.text
        replica.apply(r.json())
        if not r.json()["has_more"]:
            return


def test_a_client_pulling_during_concurrent_writes_ends_equal_to_the_server(app, live_server):
    with httpx.Client(base_url=live_server, timeout=30) as http:
        email = "sync-writer@example.com"
        http.post("/v1/auth/register", json={"email": email, "password": "pw-12345678"})
        token = http.post("/v1/auth/token", data={"username": email, "password": "pw-12345678"})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        http.headers.update(headers)
        for n in range(5):
            http.post("/v1/contacts", json={"full_name": f"Seed {n}"})

        replica = Replica()
        writers = [Writer(live_server, headers, seed) for seed in range(WRITERS)]
        for w in writers:
            w.start()
        pulls = 0
        while any(w.is_alive() for w in writers):
            pull(http, replica, limit=7)  # small pages: sequences span many writes
            pulls += 1
            time.sleep(0.01)
        for w in writers:
            w.join()
        assert [f for w in writers for f in w.failures] == []
        pull(http, replica, limit=7)

        truth = _state(http)
        assert sum(len(v) for v in truth.values()) > 20  # the writers did write
        assert pulls > 3
        assert_same(replica, truth)


def _state(http: httpx.Client) -> dict[str, dict[str, dict[str, Any]]]:
    state: dict[str, dict[str, dict[str, Any]]] = {}
    for name, path in {
        "contacts": "/v1/contacts",
        "interactions": "/v1/interactions",
        "asks": "/v1/asks",
        "etiquette_tasks": "/v1/etiquette-tasks",
    }.items():
        state[name], cursor = {}, None
        while True:
            r = http.get(path, params={"limit": 200, **({"cursor": cursor} if cursor else {})})
            state[name].update({item["id"]: item for item in r.json()["items"]})
            cursor = r.json()["next_cursor"]
            if cursor is None:
                break
    return state


async def test_a_write_stamped_before_a_pull_and_committed_after_it_is_not_missed(
    app, client, settings
):
    """The classic trap: a transaction takes its place in the feed, a later one commits and is
    pulled, then the first commits. A cursor at "the highest change seen" would skip it."""
    alice = await sign_up(client, "slow-writer@example.com")
    owner = (await client.get("/v1/me", headers=alice)).json()["id"]
    replica = Replica()
    await sync(client, alice, replica)

    db = app.state.runtime.db
    async with db.write_sessions() as slow, slow.begin():
        await contacts.create(slow, uuid.UUID(owner), ContactCreate(full_name="Slow"))
        await slow.flush()  # stamped now, committed below
        if settings.dialect == "postgresql":
            # Another writer commits meanwhile (SQLite serialises writers, so it cannot).
            r = await client.post("/v1/contacts", json={"full_name": "Fast"}, headers=alice)
            assert r.status_code == 201
        await sync(client, alice, replica)
        names = {c["full_name"] for c in replica.records["contacts"].values()}
        assert "Slow" not in names
        if settings.dialect == "postgresql":
            assert "Fast" in names
    await sync(client, alice, replica)
    assert "Slow" in {c["full_name"] for c in replica.records["contacts"].values()}
    assert_same(replica, await server_state(client, alice))
