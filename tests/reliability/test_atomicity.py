"""A failure in the middle of a multi-row write leaves nothing half done (PRODUCT.md "Nothing is
lost: a write either fully happens or answers an error and changes nothing").

Each test makes a statement fail partway through the work (a SQLAlchemy `before_cursor_execute`
hook that raises on the Nth statement matching a pattern), checks the answer is a 5xx problem
with no stack trace, and that every table, tombstones and bookkeeping included, is row for row
what it was. Then the same request without the fault succeeds, which shows the fault did come
after some of the work had been sent to the database. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from app.auth.models import User
from app.core.config import Settings
from tests.conftest import SERVICE, service_app, sign_up
from tests.reliability.faults import counts, fail_on, snapshot

PROBLEM = "application/problem+json"


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """As the suite's client, but an error the app answers with a 500 is a response here (uvicorn
    sends it, then logs the exception), not an exception raised into the test."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://rapport.test") as c:
        yield c


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def writer(app: FastAPI) -> AsyncEngine:
    engine: AsyncEngine = app.state.runtime.db.writer
    return engine


def assert_failed_cleanly(r: httpx.Response) -> None:
    assert r.status_code >= 500, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["status"] == r.status_code
    assert "Traceback" not in r.text and "InjectedFault" not in r.text


async def feed(client: httpx.AsyncClient, auth: dict[str, str]) -> dict:
    r = await client.get("/v1/sync", params={"limit": 1000}, headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    body.pop("cursor", None)  # carries the time it was taken
    return body


async def post(client: httpx.AsyncClient, auth: dict[str, str], url: str, body: dict) -> dict:
    r = await client.post(url, json=body, headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


async def contact_with_history(client: httpx.AsyncClient, auth: dict[str, str]) -> str:
    """A contact with completed meetings (each with its thank-you task), asks both ways, and a
    task of the user's own: everything a delete must take with it."""
    contact = await post(client, auth, "/v1/contacts", {"full_name": "Grace Hopper"})
    cid = contact["id"]
    past = datetime.now(UTC) - timedelta(days=2)
    for n in range(3):
        await post(
            client,
            auth,
            "/v1/interactions",
            {
                "contact_id": cid,
                "channel": "in_person",
                "kind": "meeting",
                "status": "completed",
                "occurred_at": iso(past - timedelta(hours=n)),
            },
        )
    for direction in ("outgoing", "incoming"):
        await post(
            client,
            auth,
            "/v1/asks",
            {"contact_id": cid, "direction": direction, "kind": "advice", "statement": "Advice?"},
        )
    await post(
        client, auth, "/v1/etiquette-tasks", {"contact_id": cid, "kind": "custom", "title": "Call"}
    )
    return cid


async def test_a_failed_contact_delete_leaves_the_contact_and_its_records(app, client) -> None:
    auth = await sign_up(client)
    cid = await contact_with_history(client, auth)
    before, before_feed = await snapshot(writer(app)), await feed(client, auth)

    # The contact, its interactions and its asks are tombstoned; then tombstoning its tasks fails.
    with fail_on(writer(app), r"^UPDATE etiquette_tasks", nth=1) as seen:
        r = await client.delete(f"/v1/contacts/{cid}", headers=auth)
    assert_failed_cleanly(r)
    assert len(seen) == 1
    assert await snapshot(writer(app)) == before
    assert await feed(client, auth) == before_feed
    assert (await client.get(f"/v1/contacts/{cid}", headers=auth)).status_code == 200

    r = await client.delete(f"/v1/contacts/{cid}", headers=auth)
    assert r.status_code == 204, r.text
    after = counts(await snapshot(writer(app)))
    assert after == counts(before)  # tombstones: rows stay
    for path in ("/v1/interactions", "/v1/asks", "/v1/etiquette-tasks"):
        listed = await client.get(path, params={"contact_id": cid}, headers=auth)
        assert listed.status_code == 200 and listed.json()["items"] == [], listed.text


async def test_a_failed_interaction_write_leaves_no_interaction_without_its_task(
    app, client
) -> None:
    auth = await sign_up(client)
    contact = await post(client, auth, "/v1/contacts", {"full_name": "Ada Lovelace"})
    before = await snapshot(writer(app))
    body = {
        "contact_id": contact["id"],
        "channel": "phone",
        "kind": "check_in",
        "status": "completed",
        "occurred_at": iso(datetime.now(UTC) - timedelta(hours=3)),
    }
    with fail_on(writer(app), r"^INSERT INTO etiquette_tasks", nth=1):
        r = await client.post("/v1/interactions", json=body, headers=auth)
    assert_failed_cleanly(r)
    assert await snapshot(writer(app)) == before


def vcards(count: int, start: int = 0) -> bytes:
    return "".join(
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Imported Person {n}\r\n"
        f"EMAIL:person{n}@import.example\r\nORG:Import Example\r\nEND:VCARD\r\n"
        for n in range(start, start + count)
    ).encode()


async def test_a_failed_import_imports_nothing(app, client) -> None:
    auth = await sign_up(client)
    # One existing contact the file will update (the merge path runs too).
    await post(client, auth, "/v1/contacts", {"full_name": "Imported Person 0"})
    r = await client.patch(
        "/v1/contacts/" + (await client.get("/v1/contacts", headers=auth)).json()["items"][0]["id"],
        json={"email": "person0@import.example"},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    before, before_feed = await snapshot(writer(app)), await feed(client, auth)
    data = vcards(1100)  # written 500 at a time: the second batch fails, the first was sent

    files = {"file": ("contacts.vcf", data, "text/vcard")}
    with fail_on(writer(app), r"^INSERT INTO contacts", nth=2) as seen:
        r = await client.post("/v1/contacts/import", files=files, headers=auth)
    assert_failed_cleanly(r)
    assert len(seen) == 2
    assert await snapshot(writer(app)) == before
    assert await feed(client, auth) == before_feed

    # With an Idempotency-Key: the failed attempt is not remembered, its retry imports once.
    key = {"Idempotency-Key": f"import-{uuid.uuid4()}"}
    with fail_on(writer(app), r"^INSERT INTO contacts", nth=2):
        r = await client.post("/v1/contacts/import", files=files, headers={**auth, **key})
    assert_failed_cleanly(r)
    after = await snapshot(writer(app))
    # The key's reservation and its release are transactions of their own; on SQLite each
    # write transaction advances the sync clock, an unused number that no row carries.
    after.pop("sync_clock"), before.pop("sync_clock")
    assert after == before  # the key is released too

    r = await client.post("/v1/contacts/import", files=files, headers={**auth, **key})
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["updated"]) == (1099, 1)


async def overdue_and_taking(client: httpx.AsyncClient, auth: dict[str, str], n: int) -> None:
    """`n` contacts due every day (rule 5 at a run three days on), and `n` who fulfilled an ask
    of mine and asked nothing back (rule 6)."""
    for i in range(n):
        await post(client, auth, "/v1/contacts", {"full_name": f"Due {i}", "cadence_days": 1})
        taker = await post(
            client, auth, "/v1/contacts", {"full_name": f"Taker {i}", "cadence_days": 365}
        )
        ask = await post(
            client,
            auth,
            "/v1/asks",
            {
                "contact_id": taker["id"],
                "direction": "outgoing",
                "kind": "referral",
                "statement": "Could you refer me?",
                "researched": True,
            },
        )
        r = await client.patch(f"/v1/asks/{ask['id']}", json={"status": "fulfilled"}, headers=auth)
        assert r.status_code == 200, r.text


async def rule_tasks(client: httpx.AsyncClient, auth: dict[str, str]) -> set[tuple[str, str]]:
    r = await client.get("/v1/etiquette-tasks", params={"limit": 200}, headers=auth)
    assert r.status_code == 200, r.text
    return {
        (t["kind"], t["contact_id"]) for t in r.json()["items"] if t["kind"] != "thank_you_note"
    }


async def test_a_failed_scheduler_run_creates_no_task(app, client) -> None:
    auth = await sign_up(client)
    await overdue_and_taking(client, auth, 2)
    as_of = {"as_of": iso(datetime.now(UTC) + timedelta(days=3))}
    before = await snapshot(writer(app))
    # Rule 5's reconnect tasks are inserted; then rule 6's insert fails.
    with fail_on(writer(app), r"^INSERT INTO etiquette_tasks", nth=2):
        r = await client.post("/v1/scheduler/run", json=as_of, headers=auth)
    assert_failed_cleanly(r)
    assert await snapshot(writer(app)) == before

    r = await client.post("/v1/scheduler/run", json=as_of, headers=auth)
    assert r.status_code == 200, r.text
    kinds = {kind for kind, _ in await rule_tasks(client, auth)}
    assert kinds == {"reconnect", "offer_help"}


@pytest.fixture
async def service(
    app: FastAPI, settings: Settings
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """A second app on the same database with the service credential and batches of 2 users."""
    async with service_app(settings, scheduler_batch_size=2) as extra:
        transport = httpx.ASGITransport(app=extra, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://rapport.test") as c:
            yield c, extra


async def test_a_failed_all_users_run_keeps_earlier_batches_and_no_part_of_the_failed_one(
    app, client, service
) -> None:
    """Each batch of users is its own transaction (by design: a run over a million users must
    not hold one transaction). Batch 2 fails after its tasks were inserted, at the statement
    that stamps its users: batch 1 stays committed, batch 2 and later have nothing."""
    svc, svc_app = service
    users = []
    for _ in range(5):
        auth = await sign_up(client)
        me = (await client.get("/v1/me", headers=auth)).json()
        await overdue_and_taking(client, auth, 1)
        users.append((me["id"], auth))
    users.sort(key=lambda u: uuid.UUID(u[0]))  # runs claim users in id order
    moment = datetime.now(UTC) + timedelta(days=3)
    as_of = {"as_of": iso(moment)}
    # Users left by tests that do not clean up (live servers on the session database) would
    # shift the batches: mark them as just handled, so a run claims exactly these five.
    async with writer(app).begin() as conn:
        await conn.execute(
            update(User)
            .where(col(User.id).not_in([uuid.UUID(uid) for uid, _ in users]))
            .values(scheduled_at=moment)
        )
    before = {uid: await rule_tasks(client, auth) for uid, auth in users}
    assert all(tasks == set() for tasks in before.values())

    with fail_on(writer(svc_app), r"^UPDATE users SET scheduled_at", nth=2) as seen:
        r = await svc.post("/v1/scheduler/run", json=as_of, headers=SERVICE)
    assert_failed_cleanly(r)
    assert len(seen) == 2
    after = {uid: await rule_tasks(client, auth) for uid, auth in users}
    for uid, _ in users[:2]:  # batch 1: committed, whole
        assert {kind for kind, _ in after[uid]} == {"reconnect", "offer_help"}
    for uid, _ in users[2:]:  # batch 2 (failed) and batch 3 (never reached): untouched
        assert after[uid] == set()

    # The next run finishes the job; batch 1's users, stamped, are left alone.
    r = await svc.post("/v1/scheduler/run", json=as_of, headers=SERVICE)
    assert r.status_code == 200, r.text
    assert r.json()["users"] == 3
    for _uid, auth in users:
        assert {kind for kind, _ in await rule_tasks(client, auth)} == {"reconnect", "offer_help"}
