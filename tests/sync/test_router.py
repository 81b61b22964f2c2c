"""GET /v1/sync: the changes feed an offline client keeps its copy with."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlmodel import SQLModel

from tests.backdate import set_columns
from tests.conftest import SERVICE, service_app
from tests.sync.helpers import RESOURCES, Replica, assert_same, server_state, sync

SYNC = "/v1/sync"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def contact(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> dict:
    r = await client.post("/v1/contacts", json={"full_name": name}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def meeting(client: httpx.AsyncClient, headers: dict[str, str], contact_id: str) -> dict:
    """A completed coffee: it also creates a thank-you task (rule 1)."""
    body = {
        "contact_id": contact_id,
        "channel": "in_person",
        "kind": "meeting",
        "status": "completed",
        "occurred_at": iso(datetime.now(UTC) - timedelta(hours=1)),
    }
    r = await client.post("/v1/interactions", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def ask(client: httpx.AsyncClient, headers: dict[str, str], contact_id: str) -> dict:
    body = {
        "contact_id": contact_id,
        "direction": "outgoing",
        "kind": "advice",
        "statement": "Advice on moving into product management",
    }
    r = await client.post("/v1/asks", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def page(client: httpx.AsyncClient, headers: dict[str, str], **params) -> dict:
    r = await client.get(SYNC, params=params, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    return r.json()


def ids(body: dict, name: str, kind: str = "upserted") -> set[str]:
    changes = body["changes"][name][kind]
    return {item["id"] if kind == "upserted" else item for item in changes}


async def test_sync_without_a_token_is_401(client):
    r = await client.get(SYNC)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_a_new_user_gets_an_empty_feed_and_a_cursor(client, alice):
    body = await page(client, alice)
    assert body["has_more"] is False
    assert body["cursor"]
    for name in RESOURCES:
        assert body["changes"][name] == {"upserted": [], "deleted": []}


async def test_first_sync_is_everything_live_and_no_tombstones(client, alice, bob):
    grace = await contact(client, alice, "Grace Hopper")
    gone = await contact(client, alice, "Gone Contact")
    coffee = await meeting(client, alice, grace["id"])
    advice = await ask(client, alice, grace["id"])
    assert (await client.delete(f"/v1/contacts/{gone['id']}", headers=alice)).status_code == 204
    await contact(client, bob, "Bob's contact")

    body = await page(client, alice)
    assert ids(body, "contacts") == {grace["id"]}
    assert ids(body, "interactions") == {coffee["id"]}
    assert ids(body, "asks") == {advice["id"]}
    (task,) = body["changes"]["etiquette_tasks"]["upserted"]
    assert task["kind"] == "thank_you_note" and task["interaction_id"] == coffee["id"]
    for name in RESOURCES:
        assert body["changes"][name]["deleted"] == []
    # Records are the resources' own representations.
    (synced,) = body["changes"]["contacts"]["upserted"]
    assert synced == (await client.get(f"/v1/contacts/{grace['id']}", headers=alice)).json()
    (synced_ask,) = body["changes"]["asks"]["upserted"]
    assert "etiquette_warnings" in synced_ask


async def test_later_syncs_bring_only_what_changed_including_deletions(client, alice):
    grace = await contact(client, alice, "Grace Hopper")
    ada = await contact(client, alice, "Ada Lovelace")
    coffee = await meeting(client, alice, grace["id"])
    first = await page(client, alice)

    quiet = await page(client, alice, cursor=first["cursor"])
    for name in RESOURCES:
        assert quiet["changes"][name] == {"upserted": [], "deleted": []}

    r = await client.patch(f"/v1/contacts/{ada['id']}", json={"title": "Countess"}, headers=alice)
    assert r.status_code == 200
    assert (await client.delete(f"/v1/contacts/{grace['id']}", headers=alice)).status_code == 204
    later = await page(client, alice, cursor=quiet["cursor"])
    (patched,) = later["changes"]["contacts"]["upserted"]
    assert patched["id"] == ada["id"] and patched["title"] == "Countess" and patched["version"] == 2
    # The contact goes with everything about it.
    assert ids(later, "contacts", "deleted") == {grace["id"]}
    assert ids(later, "interactions", "deleted") == {coffee["id"]}
    assert len(later["changes"]["etiquette_tasks"]["deleted"]) == 1
    assert later["has_more"] is False


async def test_small_pages_cover_every_record_once_and_in_parent_first_order(client, alice):
    made = [await contact(client, alice, f"Contact {n}") for n in range(5)]
    for c in made[:3]:
        await meeting(client, alice, c["id"])
    replica = Replica()
    seen: list[tuple[str, str]] = []
    while True:
        params = {"limit": 2, **({"cursor": replica.cursor} if replica.cursor else {})}
        body = await page(client, alice, **params)
        count = sum(len(body["changes"][n]["upserted"]) for n in RESOURCES)
        assert count <= 2
        seen += [(n, i["id"]) for n in RESOURCES for i in body["changes"][n]["upserted"]]
        replica.apply(body)
        if not body["has_more"]:
            break
    assert len(seen) == len(set(seen)) == 5 + 3 + 3
    order = [RESOURCES.index(name) for name, _ in seen]
    assert order == sorted(order)
    assert_same(replica, await server_state(client, alice))


async def test_a_client_that_syncs_again_after_changes_matches_the_server(client, alice):
    replica = Replica()
    a = await contact(client, alice, "A")
    await sync(client, alice, replica, limit=3)
    b = await contact(client, alice, "B")
    await meeting(client, alice, b["id"])
    await ask(client, alice, a["id"])
    await client.patch(f"/v1/contacts/{a['id']}", json={"notes": "Met at PyCon"}, headers=alice)
    await sync(client, alice, replica, limit=3)
    assert_same(replica, await server_state(client, alice))
    assert (await client.delete(f"/v1/contacts/{b['id']}", headers=alice)).status_code == 204
    await sync(client, alice, replica, limit=3)
    assert_same(replica, await server_state(client, alice))
    assert replica.records["interactions"] == {}


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "a.b", "x" * 3000, "eyJ2IjoxfQ.AAAAAAAAAAAAAAAAAAAAAA", ""],
)
async def test_a_malformed_cursor_is_400(client, alice, cursor):
    r = await client.get(SYNC, params={"cursor": cursor}, headers=alice)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_another_users_cursor_and_a_list_cursor_are_400(client, alice, bob):
    bobs = await page(client, bob)
    r = await client.get(SYNC, params={"cursor": bobs["cursor"]}, headers=alice)
    assert r.status_code == 400
    for n in range(3):
        await contact(client, alice, f"C{n}")
    listed = await client.get("/v1/contacts", params={"limit": 1}, headers=alice)
    r = await client.get(SYNC, params={"cursor": listed.json()["next_cursor"]}, headers=alice)
    assert r.status_code == 400


@pytest.mark.parametrize("limit", [0, 1001, "many"])
async def test_a_limit_out_of_range_is_422(client, alice, limit):
    r = await client.get(SYNC, params={"limit": limit}, headers=alice)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "query.limit"


def _aged(app: FastAPI, cursor: str, days: float) -> str:
    codec = app.state.runtime.sync_cursors
    data = codec.decode(cursor)
    data["t"] = (datetime.fromisoformat(data["t"]) - timedelta(days=days)).isoformat()
    return codec.encode(data)


async def test_a_cursor_older_than_the_retention_is_410_and_a_fresh_sync_works(app, client, alice):
    await contact(client, alice, "Grace Hopper")
    body = await page(client, alice)
    r = await client.get(SYNC, params={"cursor": _aged(app, body["cursor"], 30.1)}, headers=alice)
    assert r.status_code == 410, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "without a cursor" in r.json()["detail"]
    # Just inside the retention it still works; and starting over always does.
    r = await client.get(SYNC, params={"cursor": _aged(app, body["cursor"], 29.9)}, headers=alice)
    assert r.status_code == 200
    assert len((await page(client, alice))["changes"]["contacts"]["upserted"]) == 1


async def test_a_record_changed_while_a_client_pages_comes_in_the_next_sync(client, alice):
    made = [await contact(client, alice, f"C{n}") for n in range(4)]
    first = await page(client, alice, limit=2)
    assert first["has_more"] is True
    # Changed after it was sent, and before the client finished this sync.
    sent = first["changes"]["contacts"]["upserted"][0]["id"]
    r = await client.patch(f"/v1/contacts/{sent}", json={"title": "Changed"}, headers=alice)
    assert r.status_code == 200
    replica = Replica()
    replica.apply(first)
    await sync(client, alice, replica, limit=2)
    await sync(client, alice, replica, limit=2)
    assert replica.records["contacts"][sent]["title"] == "Changed"
    assert len(replica.records["contacts"]) == len(made)


# ---------------------------------------------------------------------------------------------
# The purge


@pytest.fixture
async def service(settings) -> AsyncIterator[httpx.AsyncClient]:
    async with service_app(settings) as extra:
        transport = httpx.ASGITransport(app=extra)
        async with httpx.AsyncClient(transport=transport, base_url="http://rapport.test") as c:
            yield c


async def count(app: FastAPI, table: str) -> int:
    t = SQLModel.metadata.tables[table]
    async with app.state.runtime.db.read_sessions() as session:
        return (await session.exec(select(func.count()).select_from(t))).scalar_one()


async def test_the_all_users_run_purges_old_tombstones_only(app, client, service, alice):
    old = await contact(client, alice, "Old")
    old_coffee = await meeting(client, alice, old["id"])
    recent = await contact(client, alice, "Recent")
    kept = await contact(client, alice, "Kept")
    lone = await meeting(client, alice, kept["id"])  # deleted alone; its task stays live
    for c in (old, recent):
        assert (await client.delete(f"/v1/contacts/{c['id']}", headers=alice)).status_code == 204
    assert (await client.delete(f"/v1/interactions/{lone['id']}", headers=alice)).status_code == 204
    long_ago = datetime.now(UTC) - timedelta(days=40)
    await set_columns(app, "contacts", old["id"], deleted_at=long_ago)
    await set_columns(app, "interactions", old_coffee["id"], deleted_at=long_ago)
    await set_columns(app, "interactions", lone["id"], deleted_at=long_ago)
    tasks = (await client.get("/v1/etiquette-tasks", headers=alice)).json()["items"]
    (old_task_id,) = await _tombstoned_tasks(app, old["id"])
    await set_columns(app, "etiquette_tasks", old_task_id, deleted_at=long_ago)
    before = {t: await count(app, t) for t in ("contacts", "interactions", "etiquette_tasks")}

    r = await service.post("/v1/scheduler/run", json={}, headers=SERVICE)
    assert r.status_code == 200, r.text
    assert r.json()["tombstones_purged"] == 3  # Old, its interaction and its task
    after = {t: await count(app, t) for t in before}
    assert after == {
        "contacts": before["contacts"] - 1,
        "interactions": before["interactions"] - 1,  # the lone one stays: its task points at it
        "etiquette_tasks": before["etiquette_tasks"] - 1,
    }
    # The live task of the lone interaction is untouched and still synced.
    assert any(t["interaction_id"] == lone["id"] for t in tasks)
    body = await page(client, alice)
    assert {c["id"] for c in body["changes"]["contacts"]["upserted"]} == {kept["id"]}
    again = await service.post("/v1/scheduler/run", json={}, headers=SERVICE)
    assert again.json()["tombstones_purged"] == 0


async def _tombstoned_tasks(app: FastAPI, contact_id: str) -> list[str]:
    t = SQLModel.metadata.tables["etiquette_tasks"]
    async with app.state.runtime.db.read_sessions() as session:
        rows = await session.exec(
            select(t.c.id).where(
                t.c.contact_id == uuid.UUID(contact_id), t.c.deleted_at.is_not(None)
            )
        )
        return [str(row[0]) for row in rows]
