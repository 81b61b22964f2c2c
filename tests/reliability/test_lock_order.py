"""Writes to an ask or an interaction lock its contact before the record itself.

Deleting a contact locks the contact, then tombstones its asks and interactions. Fulfilling an
ask or changing a completed meeting used to lock the record first and its contact second (to
rewrite the contact's reciprocity sums or last contact): the two orders met in the load soak as
a PostgreSQL deadlock, and one of the requests answered 503. The collision itself depends on
timing, so the test checks the order: with the contact held by another transaction, the waiting
write must not hold its record yet. PostgreSQL only: SQLite runs one writer at a time.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

PAST = "2026-01-05T10:00:00Z"


async def blocked_on_a_lock(app: FastAPI, done: asyncio.Task | None = None) -> None:
    """Returns once some request waits for a row lock (or `done` has finished)."""
    async with app.state.runtime.db.writer.connect() as conn:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if done is not None and done.done():
                return
            waiting = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            )
            if waiting:
                return
            await asyncio.sleep(0.05)
    raise AssertionError("the write never waited for the contact's lock")


async def row_is_locked(app: FastAPI, table: str, record_id: uuid.UUID) -> bool:
    async with app.state.runtime.db.writer.connect() as conn:
        try:
            await conn.execute(
                text(f"SELECT id FROM {table} WHERE id = :id FOR UPDATE NOWAIT"), {"id": record_id}
            )
        except DBAPIError:  # lock_not_available
            return True
        finally:
            await conn.rollback()
    return False


@pytest.mark.parametrize(
    ("table", "change"),
    [
        pytest.param("asks", {"status": "fulfilled"}, id="ask-fulfilled"),
        pytest.param("interactions", {"summary": "Talked about compilers"}, id="meeting-changed"),
    ],
)
async def test_a_child_write_waits_for_its_contact_before_locking_itself(
    client: httpx.AsyncClient, app: FastAPI, alice: dict[str, str], table: str, change: dict
) -> None:
    if app.state.runtime.db.dialect != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time: no lock order to keep")
    contact = (await client.post("/v1/contacts", json={"full_name": "Grace"}, headers=alice)).json()
    if table == "asks":
        body = {"direction": "outgoing", "kind": "advice", "statement": "Review my talk?"}
    else:
        body = {
            "channel": "in_person",
            "kind": "meeting",
            "status": "completed",
            "occurred_at": PAST,
        }
    r = await client.post(f"/v1/{table}", json={"contact_id": contact["id"], **body}, headers=alice)
    assert r.status_code == 201, r.text
    record_id = uuid.UUID(r.json()["id"])

    async with app.state.runtime.db.writer.connect() as holder:
        await holder.execute(
            text("SELECT id FROM contacts WHERE id = :id FOR NO KEY UPDATE"),
            {"id": uuid.UUID(contact["id"])},
        )
        write = asyncio.create_task(
            client.patch(f"/v1/{table}/{record_id}", json=change, headers=alice)
        )
        await blocked_on_a_lock(app)
        held_early = await row_is_locked(app, table, record_id)
        await holder.rollback()
    r = await write
    assert r.status_code == 200, r.text
    assert not held_early, f"the {table} row was locked before its contact"


@pytest.mark.parametrize(
    ("table", "body"),
    [
        pytest.param(
            "interactions",
            {"channel": "video", "kind": "check_in", "status": "planned", "occurred_at": PAST},
            id="interaction",
        ),
        pytest.param(
            "asks", {"direction": "incoming", "kind": "advice", "statement": "CV?"}, id="ask"
        ),
        pytest.param("etiquette-tasks", {"kind": "custom", "title": "Call back"}, id="task"),
    ],
)
async def test_a_record_created_while_its_contact_is_deleted_is_refused_not_orphaned(
    client: httpx.AsyncClient, app: FastAPI, alice: dict[str, str], table: str, body: dict
) -> None:
    """The soak found a live interaction of a deleted contact: created between the delete's
    tombstoning of the contact's records and its commit, the delete never saw it."""
    if app.state.runtime.db.dialect != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time: the two cannot interleave")
    contact = (await client.post("/v1/contacts", json={"full_name": "Grace"}, headers=alice)).json()
    contact_id = uuid.UUID(contact["id"])
    async with app.state.runtime.db.writer.connect() as deleter:  # a delete, mid-transaction
        await deleter.execute(
            text("SELECT id FROM contacts WHERE id = :id FOR NO KEY UPDATE"), {"id": contact_id}
        )
        await deleter.execute(
            text("UPDATE contacts SET deleted_at = now() WHERE id = :id"), {"id": contact_id}
        )
        create = asyncio.create_task(
            client.post(f"/v1/{table}", json={"contact_id": contact["id"], **body}, headers=alice)
        )
        await blocked_on_a_lock(app, create)
        await deleter.commit()
    r = await create
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["code"] == "unknown_contact"
    listed = await client.get(f"/v1/{table}", params={"contact_id": contact["id"]}, headers=alice)
    assert listed.json()["items"] == []


async def test_a_scheduler_run_does_not_wait_for_a_deleted_contacts_rule_tasks(
    client: httpx.AsyncClient, app: FastAPI, alice: dict[str, str]
) -> None:
    """The soak found a contact delete and a scheduler run deadlocked (a 503). The run locks
    the pending offer-help tasks, then re-applies rules 1–4, inserting each rule task keyed
    ON CONFLICT DO NOTHING; the delete locks the contact, then tombstones its records and
    tasks. When the delete had tombstoned the contact's thank-you task but not yet reached its
    offer-help task, the run's insert of the existing thank-you key waited for the delete to
    settle that key, while the delete waited for the offer-help task the run held."""
    if app.state.runtime.db.dialect != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time: the two cannot interleave")
    contact = (await client.post("/v1/contacts", json={"full_name": "Ada"}, headers=alice)).json()
    contact_id = uuid.UUID(contact["id"])
    ask = {"direction": "outgoing", "kind": "referral", "statement": "Refer me?"}
    r = await client.post("/v1/asks", json={"contact_id": contact["id"], **ask}, headers=alice)
    assert r.status_code == 201, r.text
    r = await client.patch(
        f"/v1/asks/{r.json()['id']}", json={"status": "fulfilled", "effort": 3}, headers=alice
    )
    assert r.status_code == 200, r.text  # a thank-you note is due (rule 2), and Ada is taking
    r = await client.post("/v1/scheduler/run", json={}, headers=alice)
    assert r.status_code == 200, r.text
    listed = await client.get(
        "/v1/etiquette-tasks", params={"contact_id": contact["id"]}, headers=alice
    )
    kinds = {task["kind"]: uuid.UUID(task["id"]) for task in listed.json()["items"]}
    assert kinds.keys() == {"thank_you_note", "offer_help"}, kinds

    async with app.state.runtime.db.writer.connect() as deleter:  # a delete, mid-transaction
        for statement in (
            "SELECT id FROM contacts WHERE id = :id FOR NO KEY UPDATE",
            "UPDATE contacts SET deleted_at = now() WHERE id = :id",
            "UPDATE asks SET deleted_at = now() WHERE contact_id = :id",
        ):
            await deleter.execute(text(statement), {"id": contact_id})
        # Its tasks one by one in the order the scan met them: the thank-you note first.
        await deleter.execute(
            text("UPDATE etiquette_tasks SET deleted_at = now() WHERE id = :id"),
            {"id": kinds["thank_you_note"]},
        )
        run = asyncio.create_task(client.post("/v1/scheduler/run", json={}, headers=alice))
        await blocked_on_a_lock(app, run)
        try:
            await deleter.execute(
                text(
                    "UPDATE etiquette_tasks SET deleted_at = now() "
                    "WHERE contact_id = :id AND deleted_at IS NULL"
                ),
                {"id": contact_id},
            )
            await deleter.commit()
            deleted = None
        except DBAPIError as exc:  # deadlock_detected: PostgreSQL aborted the delete
            deleted = exc
            await deleter.rollback()
    r = await run
    assert deleted is None, f"the delete failed: {deleted}"
    assert r.status_code == 200, r.text
    listed = await client.get("/v1/etiquette-tasks", headers=alice)
    assert [t for t in listed.json()["items"] if t["contact_id"] == contact["id"]] == []
