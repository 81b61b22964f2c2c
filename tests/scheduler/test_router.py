"""Follow-ups, reciprocity and the scheduler run over HTTP (PRODUCT.md "Rules" 5 and 6,
"Overdue follow-ups", "Reciprocity", "API semantics", "Configuration", "Scale").

What a client observes: authentication, ownership, validation, pagination and its cursors,
the tasks rules 5 and 6 make (and do not make again), the items of the follow-up list, and the
all-users run with the service credential.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlmodel import SQLModel

from app.contacts.models import Contact
from app.core.config import Settings
from app.scheduler.queries import reconnect_candidates
from tests import lists
from tests.conftest import SERVICE, SERVICE_TOKEN, UNKNOWN_ID, sign_up
from tests.conftest import service_app as start_service_app
from tests.contacts.test_router import assert_problem, create

FOLLOW_UPS = "/v1/follow-ups"
RECIPROCITY = "/v1/reciprocity"
RUN = "/v1/scheduler/run"
TASKS = "/v1/etiquette-tasks"
DAY = timedelta(days=1)

# --- helpers ---


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text)


def at(offset: timedelta = timedelta()) -> datetime:
    """Now plus `offset`, to the whole second."""
    return (datetime.now(UTC) + offset).replace(microsecond=0)


def fields_named(problem: dict) -> list[str]:
    return [e["field"] for e in problem["errors"]]


async def log_interaction(
    client: httpx.AsyncClient, headers: dict[str, str], contact_id: str, occurred: datetime
) -> dict:
    """A completed email check-in (no etiquette rule fires for it)."""
    body = {
        "contact_id": contact_id,
        "channel": "email",
        "kind": "check_in",
        "status": "completed",
        "occurred_at": iso(occurred),
    }
    r = await client.post("/v1/interactions", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def overdue_contact(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    name: str = "Grace Hopper",
    *,
    last: timedelta = timedelta(days=60),
    cadence: int = 30,
    **fields: Any,
) -> tuple[dict, datetime]:
    """A contact last reached `last` ago with a `cadence`-day interval; returns it and its due."""
    contact = await create(client, headers, full_name=name, cadence_days=cadence, **fields)
    occurred = at(-last)
    await log_interaction(client, headers, contact["id"], occurred)
    return contact, occurred + timedelta(days=cadence)


async def fulfilled_ask(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    contact_id: str,
    *,
    direction: str = "outgoing",
    kind: str = "referral",
) -> dict:
    body = {
        "contact_id": contact_id,
        "direction": direction,
        "kind": kind,
        "statement": "Could you refer me to the compiler team?",
        "researched": True,
    }
    r = await client.post("/v1/asks", json=body, headers=headers)
    assert r.status_code == 201, r.text
    r = await client.patch(
        f"/v1/asks/{r.json()['id']}", json={"status": "fulfilled"}, headers=headers
    )
    assert r.status_code == 200, r.text
    return r.json()


async def taking_contact(
    client: httpx.AsyncClient, headers: dict[str, str], name: str = "Ada Lovelace"
) -> dict:
    """A contact who fulfilled my referral ask and never asked me for anything: `taking`."""
    contact = await create(client, headers, full_name=name)
    await fulfilled_ask(client, headers, contact["id"])
    return contact


async def run(
    client: httpx.AsyncClient, headers: dict[str, str], as_of: datetime | None = None
) -> dict:
    body = {} if as_of is None else {"as_of": iso(as_of)}
    r = await client.post(RUN, json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def tasks(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[dict]:
    return await lists.walk(client, headers, url=TASKS, limit=200, **params)


async def get_task(client: httpx.AsyncClient, headers: dict[str, str], task_id: str) -> dict:
    r = await client.get(f"{TASKS}/{task_id}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def close_task(
    client: httpx.AsyncClient, headers: dict[str, str], task_id: str, status: str = "done"
) -> dict:
    r = await client.patch(f"{TASKS}/{task_id}", json={"status": status}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def follow_ups(
    client: httpx.AsyncClient, headers: dict[str, str], as_of: datetime | None = None
) -> list[dict]:
    params: dict[str, Any] = {"limit": 200}
    if as_of is not None:
        params["as_of"] = iso(as_of)
    r = await client.get(FOLLOW_UPS, params=params, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["next_cursor"] is None
    items: list[dict] = r.json()["items"]
    return items


async def walk_pages(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    url: str,
    key: str,
    limit: int,
    **params: Any,
) -> list[dict]:
    """Every item of a follow-up or reciprocity list, `limit` at a time."""
    items: list[dict] = []
    cursor = None
    for _ in range(200):
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        r = await client.get(url, params=query, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page[key]) <= limit
        items += page[key]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


def tamper(cursor: str) -> str:
    middle = len(cursor) // 3
    swapped = "A" if cursor[middle] != "A" else "B"
    return cursor[:middle] + swapped + cursor[middle + 1 :]


# --- anonymous callers ---


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", FOLLOW_UPS),
        ("GET", RECIPROCITY),
        ("GET", f"/v1/contacts/{UNKNOWN_ID}/reciprocity"),
        ("POST", RUN),
    ],
)
async def test_anonymous_request_is_401_with_bearer_challenge(client, method, path):
    r = await client.request(method, path, json={} if method == "POST" else None)
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", [FOLLOW_UPS, RECIPROCITY, RUN])
async def test_garbage_token_is_401_with_bearer_challenge(client, path):
    headers = {"Authorization": "Bearer not-a-token"}
    method = "POST" if path == RUN else "GET"
    r = await client.request(method, path, json={} if method == "POST" else None, headers=headers)
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_service_token_is_refused_when_none_is_configured(client):
    # The session app has no RAPPORT_SERVICE_TOKEN: the credential is just a bad user token.
    r = await client.post(RUN, json={}, headers={"Authorization": f"Bearer {SERVICE_TOKEN}"})
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_anonymous_run_creates_nothing(client, alice):
    await overdue_contact(client, alice)
    assert_problem(await client.post(RUN, json={}), 401)
    assert await tasks(client, alice, kind="reconnect") == []


# --- ownership ---


async def test_another_users_contact_reciprocity_is_404_like_a_missing_one(client, alice, bob):
    theirs = await taking_contact(client, bob)
    foreign = assert_problem(
        await client.get(f"/v1/contacts/{theirs['id']}/reciprocity", headers=alice), 404
    )
    missing = assert_problem(
        await client.get(f"/v1/contacts/{uuid.uuid4()}/reciprocity", headers=alice), 404
    )
    assert foreign["detail"] == missing["detail"]
    # A deleted contact is missing too; a malformed id is 422.
    mine = await taking_contact(client, alice)
    assert (await client.delete(f"/v1/contacts/{mine['id']}", headers=alice)).status_code == 204
    assert_problem(await client.get(f"/v1/contacts/{mine['id']}/reciprocity", headers=alice), 404)
    assert_problem(await client.get("/v1/contacts/not-a-uuid/reciprocity", headers=alice), 422)


async def test_lists_and_runs_show_only_the_callers_own_records(client, alice, bob):
    await overdue_contact(client, bob, "Bob's Contact")
    await taking_contact(client, bob, "Bob's Helper")
    assert await follow_ups(client, alice) == []
    r = await client.get(RECIPROCITY, headers=alice)
    assert r.status_code == 200, r.text
    assert r.json()["contacts"] == []
    assert r.json()["network"]["stance"] == "none"
    ran = await run(client, alice)
    assert ran["tasks_created"] == 0
    assert ran["follow_ups"]["items"] == []
    assert ran["reciprocity"]["contacts"] == []
    # Alice's run made nothing for Bob either.
    assert await tasks(client, bob, kind="reconnect") == []
    assert await tasks(client, bob, kind="offer_help") == []


# --- validation of as_of, limit and cursor ---

BAD_AS_OF = ["2026-01-01T00:00:00", "yesterday", "2026-13-01T00:00:00Z", "1767225600x"]


@pytest.mark.parametrize("path", [FOLLOW_UPS, RECIPROCITY, "contact"])
async def test_bad_as_of_is_422_naming_the_field(client, alice, path):
    if path == "contact":
        path = f"/v1/contacts/{(await create(client, alice))['id']}/reciprocity"
    for as_of in BAD_AS_OF:
        r = await client.get(path, params={"as_of": as_of}, headers=alice)
        assert "query.as_of" in fields_named(assert_problem(r, 422)), (as_of, r.text)


async def test_limit_out_of_range_is_422_naming_the_field_and_bounds_are_accepted(client, alice):
    for path in (FOLLOW_UPS, RECIPROCITY):
        for limit in ("0", "201", "-1", "ten"):
            r = await client.get(path, params={"limit": limit}, headers=alice)
            assert "query.limit" in fields_named(assert_problem(r, 422)), (path, limit, r.text)
        for limit in ("1", "200"):
            r = await client.get(path, params={"limit": limit}, headers=alice)
            assert r.status_code == 200, (path, limit, r.text)


async def test_as_of_with_an_offset_is_read_in_utc(client, alice):
    r = await client.get(FOLLOW_UPS, params={"as_of": "2030-06-01T12:00:00+02:00"}, headers=alice)
    assert r.status_code == 200, r.text
    assert r.json()["as_of"] == "2030-06-01T10:00:00Z"


async def _follow_up_cursor(client, headers, as_of: datetime) -> tuple[str, list[dict]]:
    for i in range(3):
        await overdue_contact(client, headers, f"Contact {i}", last=timedelta(days=60 + i))
    r = await client.get(FOLLOW_UPS, params={"limit": 1, "as_of": iso(as_of)}, headers=headers)
    assert r.status_code == 200, r.text
    cursor = r.json()["next_cursor"]
    assert cursor
    return cursor, r.json()["items"]


async def _reciprocity_cursor(client, headers, as_of: datetime) -> tuple[str, list[dict]]:
    for i in range(3):
        await taking_contact(client, headers, f"Helper {i}")
    r = await client.get(RECIPROCITY, params={"limit": 1, "as_of": iso(as_of)}, headers=headers)
    assert r.status_code == 200, r.text
    cursor = r.json()["next_cursor"]
    assert cursor
    return cursor, r.json()["contacts"]


CURSORS = {FOLLOW_UPS: _follow_up_cursor, RECIPROCITY: _reciprocity_cursor}


@pytest.mark.parametrize("path", [FOLLOW_UPS, RECIPROCITY])
async def test_tampered_cursor_is_400(client, alice, path):
    cursor, _ = await CURSORS[path](client, alice, at(DAY))
    assert_problem(await client.get(path, params={"cursor": tamper(cursor)}, headers=alice), 400)
    assert_problem(await client.get(path, params={"cursor": cursor + "x"}, headers=alice), 400)
    assert_problem(await client.get(path, params={"cursor": "garbage"}, headers=alice), 400)
    # The genuine one still works.
    assert (await client.get(path, params={"cursor": cursor}, headers=alice)).status_code == 200


async def test_a_cursor_of_one_list_is_400_on_the_other(client, alice):
    follow_cursor, _ = await _follow_up_cursor(client, alice, at(DAY))
    recip_cursor, _ = await _reciprocity_cursor(client, alice, at(DAY))
    r = await client.get(RECIPROCITY, params={"cursor": follow_cursor}, headers=alice)
    assert_problem(r, 400)
    r = await client.get(FOLLOW_UPS, params={"cursor": recip_cursor}, headers=alice)
    assert_problem(r, 400)
    # Nor is a cursor of another resource's list.
    r = await client.get("/v1/contacts", params={"limit": 1}, headers=alice)
    contacts_cursor = r.json()["next_cursor"]
    assert contacts_cursor
    for path in (FOLLOW_UPS, RECIPROCITY):
        r = await client.get(path, params={"cursor": contacts_cursor}, headers=alice)
        assert_problem(r, 400)


@pytest.mark.parametrize("path", [FOLLOW_UPS, RECIPROCITY])
async def test_a_cursor_with_a_different_as_of_is_400_and_the_same_one_is_fine(client, alice, path):
    as_of = at(DAY)
    cursor, _ = await CURSORS[path](client, alice, as_of)
    other = {"cursor": cursor, "as_of": iso(as_of + timedelta(seconds=1))}
    assert_problem(await client.get(path, params=other, headers=alice), 400)
    same = {"cursor": cursor, "as_of": iso(as_of)}
    r = await client.get(path, params=same, headers=alice)
    assert r.status_code == 200, r.text
    assert parse(r.json()["as_of"]) == as_of


async def test_a_follow_up_cursor_keeps_its_as_of(client, alice):
    # Contacts created now with a 1-day cadence are overdue only in the future.
    as_of = at(10 * DAY)
    for i in range(3):
        await create(client, alice, full_name=f"Future {i}", cadence_days=1)
    assert await follow_ups(client, alice) == []
    r = await client.get(FOLLOW_UPS, params={"limit": 2, "as_of": iso(as_of)}, headers=alice)
    assert r.status_code == 200, r.text
    first = r.json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    r = await client.get(FOLLOW_UPS, params={"cursor": first["next_cursor"]}, headers=alice)
    assert r.status_code == 200, r.text
    second = r.json()
    assert parse(second["as_of"]) == as_of
    assert [i["type"] for i in second["items"]] == ["reconnect"]
    assert second["items"][0]["days_overdue"] == 8
    assert second["next_cursor"] is None
    names = {i["contact_name"] for i in first["items"] + second["items"]}
    assert names == {"Future 0", "Future 1", "Future 2"}


async def test_a_reciprocity_cursor_keeps_its_as_of(client, alice):
    # A year on, every referral weighs half: the second page is computed a year on too.
    as_of = at(365 * DAY)
    for i in range(3):
        await taking_contact(client, alice, f"Helper {i}")
    r = await client.get(RECIPROCITY, params={"limit": 2, "as_of": iso(as_of)}, headers=alice)
    assert r.status_code == 200, r.text
    first = r.json()
    assert len(first["contacts"]) == 2 and first["next_cursor"]
    r = await client.get(RECIPROCITY, params={"cursor": first["next_cursor"]}, headers=alice)
    assert r.status_code == 200, r.text
    second = r.json()
    assert parse(second["as_of"]) == as_of
    assert len(second["contacts"]) == 1
    assert second["contacts"][0]["received"] == pytest.approx(1.5, abs=1e-3)
    assert second["network"]["received"] == pytest.approx(4.5, abs=1e-2)


# --- pagination: no repeats, no gaps ---


async def test_follow_up_pages_have_no_repeats_or_gaps_and_are_most_overdue_first(client, alice):
    tie = at(-60 * DAY)
    # Four contacts due at the same moment, and a task due then too: ties across types.
    for i in range(4):
        contact = await create(client, alice, full_name=f"Tied {i}", cadence_days=30)
        await log_interaction(client, alice, contact["id"], tie)
    same_due = tie + 30 * DAY
    contact = await create(client, alice, full_name="Task owner")
    r = await client.post(
        TASKS,
        json={"contact_id": contact["id"], "title": "Send notes", "due_at": iso(same_due)},
        headers=alice,
    )
    assert r.status_code == 201, r.text
    for i in range(5):
        await overdue_contact(client, alice, f"Spread {i}", last=timedelta(days=40 + 7 * i))
    everything = await follow_ups(client, alice)
    assert len(everything) == 10
    dues = [parse(i["due_at"]) for i in everything]
    assert dues == sorted(dues)
    assert [i["days_overdue"] for i in everything] == sorted(
        (i["days_overdue"] for i in everything), reverse=True
    )
    for limit in (1, 3, 4):
        paged = await walk_pages(client, alice, FOLLOW_UPS, "items", limit)
        assert paged == everything, limit


async def test_follow_up_pages_stay_consistent_while_items_appear_and_go(client, alice):
    for i in range(6):
        await overdue_contact(client, alice, f"Contact {i}", last=timedelta(days=40 + i))
    as_of = at()
    r = await client.get(FOLLOW_UPS, params={"limit": 2, "as_of": iso(as_of)}, headers=alice)
    first = r.json()
    seen = [i["contact_id"] for i in first["items"]]
    # A contact already listed is reached again (it drops out); a new overdue one appears later.
    await log_interaction(client, alice, seen[0], at(-DAY))
    await overdue_contact(client, alice, "Newcomer", last=timedelta(days=31))
    cursor = first["next_cursor"]
    while cursor:
        r = await client.get(FOLLOW_UPS, params={"limit": 2, "cursor": cursor}, headers=alice)
        assert r.status_code == 200, r.text
        seen += [i["contact_id"] for i in r.json()["items"]]
        cursor = r.json()["next_cursor"]
    assert len(seen) == len(set(seen))
    assert len(seen) == 7  # the six, and the newcomer that sorts after the first page


async def test_reciprocity_pages_have_no_repeats_or_gaps(client, alice):
    kinds = ["referral", "advice", "feedback", "referral", "job", "information"]
    for i, kind in enumerate(kinds):
        contact = await create(client, alice, full_name=f"Helper {i}")
        await fulfilled_ask(client, alice, contact["id"], kind=kind)
        if i % 2:
            await fulfilled_ask(client, alice, contact["id"], direction="incoming", kind="advice")
    r = await client.get(RECIPROCITY, params={"limit": 200}, headers=alice)
    assert r.status_code == 200, r.text
    everything = r.json()["contacts"]
    assert len(everything) == len(kinds)
    scores = [c["score"] for c in everything]
    assert scores == sorted(scores)
    for limit in (1, 2, 4):
        assert await walk_pages(client, alice, RECIPROCITY, "contacts", limit) == everything


# --- reciprocity contents ---


async def test_contact_reciprocity_of_a_taking_contact(client, alice):
    contact = await taking_contact(client, alice)
    r = await client.get(f"/v1/contacts/{contact['id']}/reciprocity", headers=alice)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["contact_id"] == contact["id"]
    assert body["given"] == 0
    assert body["received"] == pytest.approx(3, abs=1e-3)
    assert body["score"] == -1
    assert body["stance"] == "taking"


async def test_contact_reciprocity_with_no_asks_or_before_any_was_resolved_is_none(client, alice):
    contact = await create(client, alice)
    r = await client.get(f"/v1/contacts/{contact['id']}/reciprocity", headers=alice)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "contact_id": contact["id"],
        "given": 0,
        "received": 0,
        "score": 0,
        "stance": "none",
    }
    helper = await taking_contact(client, alice)
    r = await client.get(
        f"/v1/contacts/{helper['id']}/reciprocity", params={"as_of": iso(at(-DAY))}, headers=alice
    )
    assert r.status_code == 200, r.text
    assert r.json()["stance"] == "none" and r.json()["received"] == 0


# --- the run: shape, validation, idempotency ---


async def test_run_returns_user_scope_as_of_counts_and_first_pages(client, alice):
    contact, due = await overdue_contact(client, alice)
    as_of = at()
    body = await run(client, alice, as_of)
    assert set(body) == {"scope", "as_of", "tasks_created", "follow_ups", "reciprocity"}
    assert body["scope"] == "user"
    assert parse(body["as_of"]) == as_of
    assert body["tasks_created"] == 1
    [item] = body["follow_ups"]["items"]
    assert item["type"] == "reconnect"
    assert item["contact_id"] == contact["id"]
    assert parse(item["due_at"]) == due
    assert body["reciprocity"]["contacts"] == []
    assert body["reciprocity"]["network"]["stance"] == "none"
    # The pages are the same as the list endpoints give for that as_of.
    r = await client.get(FOLLOW_UPS, params={"as_of": iso(as_of)}, headers=alice)
    assert r.json()["items"] == body["follow_ups"]["items"]
    r = await client.get(RECIPROCITY, params={"as_of": iso(as_of)}, headers=alice)
    assert r.json()["contacts"] == body["reciprocity"]["contacts"]


async def test_run_without_a_body_runs_as_of_now(client, alice):
    await overdue_contact(client, alice)
    before = datetime.now(UTC)
    r = await client.post(RUN, headers=alice)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scope"] == "user"
    assert before - timedelta(seconds=1) <= parse(body["as_of"]) <= datetime.now(UTC)
    assert body["tasks_created"] == 1


async def test_running_twice_creates_tasks_once(client, alice):
    await overdue_contact(client, alice, "Grace Hopper")
    await taking_contact(client, alice, "Ada Lovelace")
    as_of = at(timedelta(minutes=1))
    assert (await run(client, alice, as_of))["tasks_created"] == 2
    assert (await run(client, alice, as_of))["tasks_created"] == 0
    assert (await run(client, alice))["tasks_created"] == 0
    assert len(await tasks(client, alice, kind="reconnect")) == 1
    assert len(await tasks(client, alice, kind="offer_help")) == 1


async def test_run_with_non_json_body_is_415_and_creates_nothing(client, alice):
    await overdue_contact(client, alice)
    r = await client.post(RUN, content=b"{}", headers={**alice, "Content-Type": "text/plain"})
    assert_problem(r, 415)
    assert await tasks(client, alice, kind="reconnect") == []


INVALID_RUN_BODIES = [
    ({"as_of": "yesterday"}, "body.as_of"),
    ({"as_of": "2026-01-01T00:00:00"}, "body.as_of"),
    ({"as_of": 1767225600}, "body.as_of"),
    ({"as_of": None, "force": True}, "body.force"),
    ({"user_id": str(uuid.uuid4())}, "body.user_id"),
]


async def test_invalid_run_body_is_422_naming_the_field_and_creates_nothing(client, alice):
    await overdue_contact(client, alice)
    for body, field in INVALID_RUN_BODIES:
        r = await client.post(RUN, json=body, headers=alice)
        assert field in fields_named(assert_problem(r, 422)), (body, r.text)
    assert_problem(await client.post(RUN, json=["2026-01-01T00:00:00Z"], headers=alice), 422)
    broken = {**alice, "Content-Type": "application/json"}
    assert_problem(await client.post(RUN, content=b"{not json", headers=broken), 422)
    assert await tasks(client, alice, kind="reconnect") == []


async def test_idempotency_key_on_run_replays_the_first_response_and_creates_nothing(client, alice):
    await overdue_contact(client, alice, "Grace Hopper")
    headers = {**alice, "Idempotency-Key": "run-" + uuid.uuid4().hex}
    body = {"as_of": iso(at())}
    first = await client.post(RUN, json=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["tasks_created"] == 1
    # Something new to do: a replay must not do it.
    await overdue_contact(client, alice, "Ada Lovelace")
    again = await client.post(RUN, json=body, headers=headers)
    assert again.status_code == first.status_code
    assert again.json() == first.json()
    assert len(await tasks(client, alice, kind="reconnect")) == 1
    # The same key with another body is refused.
    other = await client.post(RUN, json={"as_of": iso(at(DAY))}, headers=headers)
    assert_problem(other, 422)
    assert len(await tasks(client, alice, kind="reconnect")) == 1


async def test_idempotency_keys_are_scoped_to_the_caller(client, alice, bob):
    await overdue_contact(client, alice)
    await overdue_contact(client, bob)
    key = {"Idempotency-Key": "shared-" + uuid.uuid4().hex}
    body = {"as_of": iso(at())}
    a = await client.post(RUN, json=body, headers={**alice, **key})
    b = await client.post(RUN, json=body, headers={**bob, **key})
    assert a.status_code == b.status_code == 200
    assert a.json()["tasks_created"] == b.json()["tasks_created"] == 1
    assert a.json()["follow_ups"] != b.json()["follow_ups"]


# --- rule 5: reconnect ---


async def test_rule5_one_reconnect_task_due_at_the_follow_up_due_date(client, alice):
    contact, due = await overdue_contact(client, alice, "Grace Hopper")
    body = await run(client, alice)
    assert body["tasks_created"] == 1
    [task] = await tasks(client, alice, kind="reconnect")
    assert task["contact_id"] == contact["id"]
    assert task["status"] == "pending"
    assert task["source"] == "rule"
    assert parse(task["due_at"]) == due
    assert "Grace Hopper" in task["title"]
    assert task["interaction_id"] is None and task["ask_id"] is None
    [item] = body["follow_ups"]["items"]
    assert parse(item["due_at"]) == due
    assert item["days_overdue"] == 30


async def test_rule5_only_contacts_past_their_cadence_get_a_task(client, alice):
    await overdue_contact(client, alice, "Recent", last=timedelta(days=10))
    await create(client, alice, full_name="Just met")  # never reached, but just created
    contact = await create(client, alice, full_name="Fair Friend", circle="career_fair")
    await log_interaction(client, alice, contact["id"], at(-15 * DAY))
    neighbour = await create(client, alice, full_name="Nico", circle="neighbour")
    await log_interaction(client, alice, neighbour["id"], at(-59 * DAY))
    assert (await run(client, alice))["tasks_created"] == 1
    [task] = await tasks(client, alice, kind="reconnect")
    assert task["contact_id"] == contact["id"]


@pytest.mark.parametrize("status", ["done", "dismissed"])
async def test_rule5_closed_by_the_user_is_not_recreated_for_the_same_due_date(
    client, alice, status
):
    contact, due = await overdue_contact(client, alice)
    await run(client, alice)
    [task] = await tasks(client, alice, kind="reconnect")
    await close_task(client, alice, task["id"], status)
    for as_of in (at(), at(DAY), at(10 * DAY)):
        assert (await run(client, alice, as_of))["tasks_created"] == 0
    [still] = await tasks(client, alice, kind="reconnect")
    assert still["id"] == task["id"] and still["status"] == status
    assert contact["id"] == still["contact_id"] and parse(still["due_at"]) == due


async def test_rule5_a_new_due_date_passing_brings_a_new_task(client, alice):
    contact, _ = await overdue_contact(client, alice, cadence=30)
    await run(client, alice)
    [first] = await tasks(client, alice, kind="reconnect")
    await close_task(client, alice, first["id"], "done")
    reached = at(-DAY)
    await log_interaction(client, alice, contact["id"], reached)
    new_due = reached + 30 * DAY
    # Not yet due: nothing new.
    assert (await run(client, alice, new_due - timedelta(seconds=1)))["tasks_created"] == 0
    body = await run(client, alice, new_due + DAY)
    assert body["tasks_created"] == 1
    found = {t["id"]: t for t in await tasks(client, alice, kind="reconnect")}
    assert len(found) == 2
    assert found[first["id"]]["status"] == "done"
    [second] = [t for t in found.values() if t["id"] != first["id"]]
    assert second["status"] == "pending"
    assert parse(second["due_at"]) == new_due
    assert second["contact_id"] == contact["id"]


async def test_rule5_logging_a_completed_interaction_dismisses_the_pending_task(client, alice):
    contact, _ = await overdue_contact(client, alice)
    await run(client, alice)
    [task] = await tasks(client, alice, kind="reconnect")
    await log_interaction(client, alice, contact["id"], at(-DAY))
    got = await get_task(client, alice, task["id"])
    assert got["status"] == "dismissed"
    assert got["version"] > task["version"]
    assert [i for i in await follow_ups(client, alice) if i["type"] == "reconnect"] == []
    assert (await run(client, alice))["tasks_created"] == 0


async def test_rule5_a_planned_interaction_does_not_dismiss_the_task(client, alice):
    contact, _ = await overdue_contact(client, alice)
    await run(client, alice)
    [task] = await tasks(client, alice, kind="reconnect")
    body = {
        "contact_id": contact["id"],
        "channel": "email",
        "kind": "check_in",
        "status": "planned",
        "occurred_at": iso(at(3 * DAY)),
    }
    assert (await client.post("/v1/interactions", json=body, headers=alice)).status_code == 201
    assert (await get_task(client, alice, task["id"]))["status"] == "pending"


async def snoozed_after_its_reconnect_task(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> tuple[dict, datetime, dict, datetime]:
    """An overdue contact given its reconnect task by a run, then snoozed for 10 days, which
    dismisses the task (the rule's doing): (contact, due date, task, end of the snooze)."""
    contact, due = await overdue_contact(client, headers)
    await run(client, headers)
    [task] = await tasks(client, headers, kind="reconnect")
    until = at(10 * DAY)
    r = await client.patch(
        f"/v1/contacts/{contact['id']}", json={"snoozed_until": iso(until)}, headers=headers
    )
    assert r.status_code == 200, r.text
    assert (await get_task(client, headers, task["id"]))["status"] == "dismissed"
    return contact, due, task, until


async def test_rule5_snoozing_dismisses_and_the_end_of_the_snooze_brings_it_back(client, alice):
    contact, due, task, until = await snoozed_after_its_reconnect_task(client, alice)
    # While snoozed: no task comes back, no reconnect item.
    snoozed = await run(client, alice, at())
    assert snoozed["tasks_created"] == 0
    assert snoozed["follow_ups"]["items"] == []
    assert (await get_task(client, alice, task["id"]))["status"] == "dismissed"
    # After the snooze: the same task, pending again, with the same due date.
    after = await run(client, alice, until + DAY)
    assert after["tasks_created"] == 0
    [back] = await tasks(client, alice, kind="reconnect")
    assert back["id"] == task["id"]
    assert back["status"] == "pending"
    assert parse(back["due_at"]) == due
    [item] = after["follow_ups"]["items"]
    assert item["type"] == "reconnect" and item["contact_id"] == contact["id"]


async def test_rule5_untracked_or_deleted_contacts_get_no_reconnect(client, alice):
    await overdue_contact(client, alice, track_follow_ups=False)
    deleted, _ = await overdue_contact(client, alice, "Deleted")
    assert (await client.delete(f"/v1/contacts/{deleted['id']}", headers=alice)).status_code == 204
    body = await run(client, alice)
    assert body["tasks_created"] == 0
    assert body["follow_ups"]["items"] == []
    assert await tasks(client, alice, kind="reconnect") == []


async def test_rule5_untracking_dismisses_the_pending_task(client, alice):
    contact, _ = await overdue_contact(client, alice)
    await run(client, alice)
    [task] = await tasks(client, alice, kind="reconnect")
    r = await client.patch(
        f"/v1/contacts/{contact['id']}", json={"track_follow_ups": False}, headers=alice
    )
    assert r.status_code == 200, r.text
    assert (await get_task(client, alice, task["id"]))["status"] == "dismissed"
    assert (await run(client, alice))["tasks_created"] == 0
    assert (await get_task(client, alice, task["id"]))["status"] == "dismissed"


# --- rule 6: offer help ---


async def test_rule6_taking_contact_gets_one_offer_help_due_a_week_after_as_of(client, alice):
    contact = await taking_contact(client, alice, "Ada Lovelace")
    as_of = at(timedelta(minutes=1))
    body = await run(client, alice, as_of)
    assert body["tasks_created"] == 1
    [task] = await tasks(client, alice, kind="offer_help")
    assert task["contact_id"] == contact["id"]
    assert task["status"] == "pending"
    assert task["source"] == "rule"
    assert parse(task["due_at"]) == as_of + 7 * DAY
    assert "Ada Lovelace" in task["title"]
    [entry] = body["reciprocity"]["contacts"]
    assert entry["contact_id"] == contact["id"] and entry["stance"] == "taking"


async def test_rule6_running_again_keeps_one_pending(client, alice):
    await taking_contact(client, alice)
    as_of = at(timedelta(minutes=1))
    await run(client, alice, as_of)
    for later in (as_of, as_of + DAY, as_of + 10 * DAY, as_of + 40 * DAY):
        assert (await run(client, alice, later))["tasks_created"] == 0
    [task] = await tasks(client, alice, kind="offer_help")
    assert task["status"] == "pending"
    assert parse(task["due_at"]) == as_of + 7 * DAY


@pytest.mark.parametrize("status", ["done", "dismissed"])
async def test_rule6_none_within_30_days_of_the_user_closing_it_then_a_new_one(
    client, alice, status
):
    await taking_contact(client, alice)
    await run(client, alice, at(timedelta(minutes=1)))
    [task] = await tasks(client, alice, kind="offer_help")
    closed = await close_task(client, alice, task["id"], status)
    closed_at = parse(closed["updated_at"])
    for quiet in (at(), closed_at + 15 * DAY, closed_at + 29 * DAY):
        assert (await run(client, alice, quiet))["tasks_created"] == 0, quiet
    assert len(await tasks(client, alice, kind="offer_help")) == 1
    later = closed_at + 31 * DAY
    body = await run(client, alice, later)
    assert body["tasks_created"] == 1
    found = await tasks(client, alice, kind="offer_help")
    assert len(found) == 2
    [new] = [t for t in found if t["id"] != task["id"]]
    assert new["status"] == "pending"
    assert parse(new["due_at"]) == later + 7 * DAY


async def test_rule6_balanced_or_giving_contacts_get_no_offer_help(client, alice):
    giving = await create(client, alice, full_name="Giving")
    await fulfilled_ask(client, alice, giving["id"], direction="incoming", kind="referral")
    balanced = await create(client, alice, full_name="Balanced")
    await fulfilled_ask(client, alice, balanced["id"], kind="referral")
    await fulfilled_ask(client, alice, balanced["id"], direction="incoming", kind="job")
    body = await run(client, alice, at(timedelta(minutes=1)))
    assert body["tasks_created"] == 0
    assert await tasks(client, alice, kind="offer_help") == []
    stances = {c["contact_id"]: c["stance"] for c in body["reciprocity"]["contacts"]}
    assert stances == {giving["id"]: "giving", balanced["id"]: "balanced"}


async def test_rule6_an_ask_resolved_after_as_of_does_not_count(client, alice):
    await taking_contact(client, alice)
    assert (await run(client, alice, at(-DAY)))["tasks_created"] == 0
    assert await tasks(client, alice, kind="offer_help") == []


# --- follow-up list contents ---


async def test_pending_custom_task_past_due_is_an_etiquette_task_item(client, alice):
    contact = await create(client, alice, full_name="Grace Hopper")
    due = at(-2 * DAY - timedelta(hours=1))
    r = await client.post(
        TASKS,
        json={"contact_id": contact["id"], "title": "Send notes", "due_at": iso(due)},
        headers=alice,
    )
    assert r.status_code == 201, r.text
    task = r.json()
    # Not yet due, done, or undated tasks are not follow-ups.
    future = {"contact_id": contact["id"], "title": "Later", "due_at": iso(at(DAY))}
    assert (await client.post(TASKS, json=future, headers=alice)).status_code == 201
    undated = {"contact_id": contact["id"], "title": "Whenever"}
    assert (await client.post(TASKS, json=undated, headers=alice)).status_code == 201
    closed = {"contact_id": contact["id"], "title": "Done", "due_at": iso(at(-3 * DAY))}
    r = await client.post(TASKS, json=closed, headers=alice)
    await close_task(client, alice, r.json()["id"], "done")
    [item] = await follow_ups(client, alice)
    assert item == {
        "type": "etiquette_task",
        "contact_id": contact["id"],
        "contact_name": "Grace Hopper",
        "due_at": iso(due),
        "days_overdue": 2,
        "reference_id": task["id"],
    }


async def test_reconnect_tasks_never_appear_as_etiquette_task_items(client, alice):
    contact, due = await overdue_contact(client, alice)
    await run(client, alice)
    [task] = await tasks(client, alice, kind="reconnect")
    items = await follow_ups(client, alice)
    assert [i["type"] for i in items] == ["reconnect"]
    assert items[0]["contact_id"] == contact["id"]
    assert parse(items[0]["due_at"]) == due
    assert items[0]["reference_id"] in (None, task["id"])
    # Nor a reconnect task made by hand: the reconnect item stands for them.
    manual = {
        "contact_id": contact["id"],
        "kind": "reconnect",
        "title": "Call Grace",
        "due_at": iso(at(-5 * DAY)),
    }
    assert (await client.post(TASKS, json=manual, headers=alice)).status_code == 201
    assert [i["type"] for i in await follow_ups(client, alice)] == ["reconnect"]


async def test_accepted_incoming_ask_past_due_is_a_promise(client, alice):
    contact = await create(client, alice, full_name="Grace Hopper")
    due = at(-3 * DAY)
    body = {
        "contact_id": contact["id"],
        "direction": "incoming",
        "kind": "advice",
        "statement": "Review my talk",
        "status": "accepted",
        "due_at": iso(due),
    }
    r = await client.post("/v1/asks", json=body, headers=alice)
    assert r.status_code == 201, r.text
    ask = r.json()
    # Open (not yet accepted), not yet due, or outgoing: no promise.
    for other in (
        {**body, "status": "open"},
        {**body, "due_at": iso(at(DAY))},
    ):
        assert (await client.post("/v1/asks", json=other, headers=alice)).status_code == 201
    [item] = await follow_ups(client, alice)
    assert item == {
        "type": "promise",
        "contact_id": contact["id"],
        "contact_name": "Grace Hopper",
        "due_at": iso(due),
        "days_overdue": 3,
        "reference_id": ask["id"],
    }
    # Delivered: no longer owed.
    r = await client.patch(f"/v1/asks/{ask['id']}", json={"status": "fulfilled"}, headers=alice)
    assert r.status_code == 200, r.text
    assert await follow_ups(client, alice) == []


async def test_outgoing_ask_open_14_days_is_a_nudge(client, alice):
    contact = await create(client, alice, full_name="Grace Hopper", cadence_days=365)
    body = {
        "contact_id": contact["id"],
        "direction": "outgoing",
        "kind": "advice",
        "statement": "How did you get into compilers?",
    }
    r = await client.post("/v1/asks", json=body, headers=alice)
    assert r.status_code == 201, r.text
    ask = r.json()
    created = parse(ask["created_at"])
    # Thirteen days on: too early for a nudge.
    assert await follow_ups(client, alice, at(13 * DAY)) == []
    [item] = await follow_ups(client, alice, created + 15 * DAY + timedelta(hours=1))
    assert item["type"] == "nudge"
    assert item["contact_id"] == contact["id"]
    assert item["contact_name"] == "Grace Hopper"
    assert item["reference_id"] == ask["id"]
    assert parse(item["due_at"]) == created + 14 * DAY
    assert item["days_overdue"] == 1
    # Answered (accepted), it is no longer a nudge.
    r = await client.patch(f"/v1/asks/{ask['id']}", json={"status": "accepted"}, headers=alice)
    assert r.status_code == 200, r.text
    assert await follow_ups(client, alice, created + 15 * DAY + timedelta(hours=1)) == []


async def test_an_interaction_after_as_of_does_not_count(client, alice):
    contact, due = await overdue_contact(client, alice, last=timedelta(days=60), cadence=30)
    await log_interaction(client, alice, contact["id"], at(-DAY))
    assert await follow_ups(client, alice) == []
    # As of 10 days ago the recent interaction had not happened: the old due date holds.
    [item] = await follow_ups(client, alice, at(-10 * DAY))
    assert item["type"] == "reconnect"
    assert parse(item["due_at"]) == due
    assert item["days_overdue"] == 20


async def test_follow_up_items_of_every_type_most_overdue_first(client, alice):
    contact, due = await overdue_contact(client, alice, "Reconnect Me", last=timedelta(days=50))
    other = await create(client, alice, full_name="Promise Keeper", cadence_days=365)
    task_due = at(-5 * DAY)
    r = await client.post(
        TASKS,
        json={"contact_id": other["id"], "title": "Send notes", "due_at": iso(task_due)},
        headers=alice,
    )
    assert r.status_code == 201
    ask = {
        "contact_id": other["id"],
        "direction": "incoming",
        "kind": "advice",
        "statement": "Review",
        "status": "accepted",
        "due_at": iso(at(-2 * DAY)),
    }
    assert (await client.post("/v1/asks", json=ask, headers=alice)).status_code == 201
    items = await follow_ups(client, alice)
    assert [i["type"] for i in items] == ["reconnect", "etiquette_task", "promise"]
    assert [i["days_overdue"] for i in items] == [20, 5, 2]
    assert items[0]["contact_id"] == contact["id"] and parse(items[0]["due_at"]) == due
    assert [i["contact_name"] for i in items[1:]] == ["Promise Keeper"] * 2


# --- the service credential: every user ---


@pytest.fixture
async def service_app(app: FastAPI, settings: Settings) -> AsyncIterator[FastAPI]:
    """Batches of two users, so that a few users make several batches."""
    async with start_service_app(settings, scheduler_batch_size=2) as extra:
        yield extra


@pytest.fixture
async def service(service_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=service_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rapport.test") as c:
        yield c


async def run_all(service: httpx.AsyncClient, as_of: datetime | None = None) -> dict:
    body = {} if as_of is None else {"as_of": iso(as_of)}
    r = await service.post(RUN, json=body, headers=SERVICE)
    assert r.status_code == 200, r.text
    return r.json()


async def test_service_run_handles_every_user_in_batches(client, service, alice, bob):
    carol = await sign_up(client, "carol@example.com")
    for headers in (alice, bob, carol):
        await overdue_contact(client, headers)
    await taking_contact(client, carol)
    as_of = at(timedelta(minutes=1))
    body = await run_all(service, as_of)
    assert set(body) == {
        "scope", "as_of", "users", "tasks_created", "follow_ups", "reciprocity", "batches",
        "tombstones_purged",
    }  # fmt: skip
    assert body["scope"] == "all"
    assert body["tombstones_purged"] == 0
    assert parse(body["as_of"]) == as_of
    assert body["users"] == 3
    assert body["tasks_created"] == 4
    assert body["follow_ups"] == 3
    assert body["reciprocity"] == 1
    assert [b["users"] for b in body["batches"]] == [2, 1]
    for batch in body["batches"]:
        assert set(batch) == {"users", "tasks_created", "follow_ups", "reciprocity"}
    for name in ("users", "tasks_created", "follow_ups", "reciprocity"):
        assert sum(b[name] for b in body["batches"]) == body[name], name
    for headers in (alice, bob, carol):
        assert len(await tasks(client, headers, kind="reconnect")) == 1
    assert len(await tasks(client, carol, kind="offer_help")) == 1
    assert await tasks(client, alice, kind="offer_help") == []


async def test_a_second_service_run_right_after_handles_no_one(client, service, alice, bob):
    await overdue_contact(client, alice)
    first = await run_all(service)
    assert first["users"] == 2
    assert first["tasks_created"] == 1
    second = await run_all(service)
    assert second["scope"] == "all"
    assert second["users"] == 0
    assert second["tasks_created"] == 0
    assert second["batches"] == []
    assert len(await tasks(client, alice, kind="reconnect")) == 1


async def test_a_user_run_still_works_after_a_service_run(client, service, alice):
    await run_all(service)
    await overdue_contact(client, alice)
    assert (await run(client, alice))["tasks_created"] == 1


async def test_a_service_run_later_handles_the_users_again(client, service, alice):
    await overdue_contact(client, alice)
    as_of = at()
    assert (await run_all(service, as_of))["users"] == 1
    assert (await run_all(service, as_of + timedelta(seconds=299)))["users"] == 0
    later = await run_all(service, as_of + timedelta(seconds=301))
    assert later["users"] == 1
    assert later["tasks_created"] == 0  # the reconnect task exists already


async def test_service_run_validates_its_body_and_reads_no_user_lists(service):
    assert_problem(await service.get(FOLLOW_UPS, headers=SERVICE), 401)
    r = await service.post(RUN, json={"as_of": "yesterday"}, headers=SERVICE)
    assert "body.as_of" in fields_named(assert_problem(r, 422))
    r = await service.post(RUN, content=b"{}", headers={**SERVICE, "Content-Type": "text/plain"})
    assert_problem(r, 415)


async def test_a_wrong_service_token_is_a_bad_user_token(client, service, alice):
    await overdue_contact(client, alice)
    for token in (
        "svc-" + "z" * 40,
        SERVICE_TOKEN + "x",
        SERVICE_TOKEN[:-1],
        SERVICE_TOKEN.upper(),
    ):
        r = await service.post(RUN, json={}, headers={"Authorization": f"Bearer {token}"})
        assert_problem(r, 401)
        assert r.headers["www-authenticate"].startswith("Bearer"), token
    assert await tasks(client, alice, kind="reconnect") == []


async def test_idempotency_key_on_a_service_run_replays_only_to_the_service(client, service, alice):
    await overdue_contact(client, alice)
    key = {"Idempotency-Key": "cron-" + uuid.uuid4().hex}
    body = {"as_of": iso(at())}
    first = await service.post(RUN, json=body, headers={**SERVICE, **key})
    assert first.status_code == 200, first.text
    assert first.json()["users"] == 1
    again = await service.post(RUN, json=body, headers={**SERVICE, **key})
    assert again.status_code == 200 and again.json() == first.json()
    # Without the credential (no token, or a wrong one) the same key and body are still 401:
    # the service's stored response is not replayed to anybody else.
    for headers in ({}, {"Authorization": "Bearer svc-" + "z" * 40}):
        r = await service.post(RUN, json=body, headers={**headers, **key})
        assert_problem(r, 401)


async def test_a_user_token_on_the_service_app_runs_for_that_user_only(client, service, alice, bob):
    await overdue_contact(client, alice)
    await overdue_contact(client, bob)
    r = await service.post(RUN, json={}, headers=alice)
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "user"
    assert r.json()["tasks_created"] == 1
    assert await tasks(client, bob, kind="reconnect") == []


async def test_the_all_users_run_deletes_expired_idempotency_keys_only(app, client, service, alice):
    """Keys past RAPPORT_IDEMPOTENCY_TTL_SECONDS replay nothing; the run deletes them (and
    their stored responses), so keyed writes do not grow the table forever."""
    for key in ("old-key", "new-key"):
        r = await client.post(
            "/v1/contacts",
            json={"full_name": key},
            headers={**alice, "Idempotency-Key": key},
        )
        assert r.status_code == 201, r.text
    keys = SQLModel.metadata.tables["idempotency_keys"]
    ttl = timedelta(seconds=app.state.runtime.settings.idempotency_ttl_seconds)
    async with app.state.runtime.db.write_sessions() as session:
        await session.exec(
            update(keys)
            .where(keys.c.key == "old-key")
            .values(created_at=datetime.now(UTC) - ttl - timedelta(minutes=1))
        )
        await session.commit()

    await run_all(service)

    async with app.state.runtime.db.read_sessions() as session:
        left = (await session.exec(select(keys.c.key))).all()
    assert sorted(row[0] for row in left) == ["new-key"]
    replay = await client.post(
        "/v1/contacts",
        json={"full_name": "new-key"},
        headers={**alice, "Idempotency-Key": "new-key"},
    )
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"


async def test_rule5_a_run_locks_the_contact_of_a_task_it_makes_pending_again(app, client, alice):
    """A contact delete locks the contact, then tombstones its tasks; a run that re-pends the
    contact's rule-dismissed reconnect task must hold the contact first, or the two can
    deadlock on PostgreSQL. The run's lock set names it."""
    contact, _, task, until = await snoozed_after_its_reconnect_task(client, alice)
    db = app.state.runtime.db
    contact_id = uuid.UUID(contact["id"])
    owner_id = await _owner_of(db, contact_id)
    async with db.write_sessions() as session:
        locked = await session.exec(
            reconnect_candidates(db.dialect, lambda column: column == owner_id, until + DAY)
        )
        assert contact_id in {row[0] for row in locked.all()}
        # While snoozed, the contact needs nothing and is not locked.
        locked = await session.exec(
            reconnect_candidates(db.dialect, lambda column: column == owner_id, at())
        )
        assert contact_id not in {row[0] for row in locked.all()}
    # After the run, the task is pending again and its contact needs no lock.
    await run(client, alice, until + DAY)
    assert (await get_task(client, alice, task["id"]))["status"] == "pending"
    async with db.write_sessions() as session:
        locked = await session.exec(
            reconnect_candidates(db.dialect, lambda column: column == owner_id, until + DAY)
        )
        assert contact_id not in {row[0] for row in locked.all()}


async def _owner_of(db: Any, contact_id: uuid.UUID) -> uuid.UUID:
    async with db.read_sessions() as session:
        stmt = select(Contact.owner_id).where(Contact.id == contact_id)
        owner: uuid.UUID = (await session.exec(stmt)).scalar_one()
        return owner
