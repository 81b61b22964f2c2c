"""Overlapping scheduler runs (PRODUCT.md "Scale"): runners that overlap split the users between
them and never create a task twice; and runs racing the user's own writes (rules 5 and 6).

On PostgreSQL the app talks to the database through an asyncpg pool, so requests gathered on one
event loop over httpx's ASGITransport really do run their transactions at the same time. On
SQLite writes are serialised: the runner tests are PostgreSQL-only, one test checks that
concurrent runs on SQLite still create each task once, and the races run on both databases.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.core.config import Settings
from tests import lists
from tests.conftest import SERVICE, service_app, sign_up

RUN = "/v1/scheduler/run"
TASKS = "/v1/etiquette-tasks"
DAY = timedelta(days=1)
ROUNDS = 3
RUNNERS = 3


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def at(offset: timedelta = timedelta()) -> datetime:
    return (datetime.now(UTC) + offset).replace(microsecond=0)


@pytest.fixture
def postgres_only(settings: Settings) -> None:
    if settings.dialect != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL: SQLite serialises every write")


async def in_chunks(coroutines: list, size: int = 8) -> list:
    """Await the coroutines a few at a time (the writes themselves are not under test)."""
    results: list = []
    for start in range(0, len(coroutines), size):
        results += await asyncio.gather(*coroutines[start : start + size])
    return results


async def at_once(*requests: Awaitable[httpx.Response]) -> list[httpx.Response]:
    """Send the requests concurrently and wait for every one of them, even when one fails (so
    none is still running when the test ends). An exception the app let escape is a 500."""
    results = await asyncio.gather(*requests, return_exceptions=True)
    errors = [repr(r)[:300] for r in results if isinstance(r, BaseException)]
    assert errors == [], f"{len(errors)} of {len(results)} concurrent requests failed: {errors}"
    return [r for r in results if isinstance(r, httpx.Response)]


async def new_contact(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, **fields: object
) -> dict:
    r = await client.post("/v1/contacts", json={"full_name": name, **fields}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def due_contact(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> dict:
    """Created now with a one-day cadence: overdue as of any time more than a day from now."""
    return await new_contact(client, headers, name, cadence_days=1)


async def taking_contact(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> dict:
    """A contact who fulfilled my referral ask (and asked nothing of me): `taking`."""
    contact = await new_contact(client, headers, name, cadence_days=365)
    body = {
        "contact_id": contact["id"],
        "direction": "outgoing",
        "kind": "referral",
        "statement": "Could you refer me to your team?",
        "researched": True,
    }
    r = await client.post("/v1/asks", json=body, headers=headers)
    assert r.status_code == 201, r.text
    r = await client.patch(
        f"/v1/asks/{r.json()['id']}", json={"status": "fulfilled"}, headers=headers
    )
    assert r.status_code == 200, r.text
    return contact


async def scheduled_tasks(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict]:
    """The user's reconnect and offer-help tasks, walking every page."""
    found = []
    for kind in ("reconnect", "offer_help"):
        found += await lists.walk(client, headers, url=TASKS, limit=7, kind=kind)
    return found


def assert_once_per_contact(found: list[dict], reconnect: set[str], offer_help: set[str]) -> None:
    per_kind = Counter((t["kind"], t["contact_id"]) for t in found)
    duplicates = {key: n for key, n in per_kind.items() if n > 1}
    assert duplicates == {}
    assert {c for kind, c in per_kind if kind == "reconnect"} == reconnect
    assert {c for kind, c in per_kind if kind == "offer_help"} == offer_help
    assert all(t["status"] == "pending" and t["source"] == "rule" for t in found)
    assert len({t["id"] for t in found}) == len(found)


async def user_runs(
    client: httpx.AsyncClient, headers: dict[str, str], bodies: list[dict]
) -> list[dict]:
    responses = await at_once(*(client.post(RUN, json=b, headers=headers) for b in bodies))
    for r in responses:
        assert r.status_code == 200, r.text
        assert r.json()["scope"] == "user"
    return [r.json() for r in responses]


# --- one user, several runners ---


async def test_concurrent_user_runs_create_each_task_exactly_once(postgres_only, client):
    for round_ in range(ROUNDS):
        headers = await sign_up(client)
        overdue = await in_chunks([due_contact(client, headers, f"Due {i}") for i in range(30)])
        taking = await in_chunks([taking_contact(client, headers, f"Helper {i}") for i in range(5)])
        as_of = at(3 * DAY)
        # Odd rounds: each runner with its own as_of (rule 6 still keeps one pending task).
        spread = round_ % 2 == 1
        bodies = [
            {"as_of": iso(as_of + (timedelta(hours=i) if spread else timedelta()))}
            for i in range(RUNNERS)
        ]
        runs = await user_runs(client, headers, bodies)
        found = await scheduled_tasks(client, headers)
        assert_once_per_contact(found, {c["id"] for c in overdue}, {c["id"] for c in taking})
        assert len(found) == 35
        assert sum(r["tasks_created"] for r in runs) == len(found), [
            r["tasks_created"] for r in runs
        ]
        # And afterwards a run has nothing left to do.
        assert (await user_runs(client, headers, [bodies[0]]))[0]["tasks_created"] == 0


async def test_concurrent_runs_of_different_users_do_not_interfere(postgres_only, client):
    users = [await sign_up(client) for _ in range(3)]
    made: list[tuple[set[str], set[str]]] = []
    for headers in users:
        overdue = await in_chunks([due_contact(client, headers, f"Due {i}") for i in range(8)])
        taking = await in_chunks([taking_contact(client, headers, f"Helper {i}") for i in range(2)])
        made.append(({c["id"] for c in overdue}, {c["id"] for c in taking}))
    body = {"as_of": iso(at(3 * DAY))}
    for _ in range(ROUNDS):
        requests = [client.post(RUN, json=body, headers=h) for h in users for _ in range(2)]
        responses = await at_once(*requests)
        assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    for headers, (overdue_ids, taking_ids) in zip(users, made, strict=True):
        assert_once_per_contact(await scheduled_tasks(client, headers), overdue_ids, taking_ids)


# --- every user, several runners ---


@pytest.fixture
async def service(app: FastAPI, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a second app on the same database, with a service credential and small
    batches: another replica, as a cron would call it."""
    async with service_app(settings, scheduler_batch_size=2) as extra:
        transport = httpx.ASGITransport(app=extra)
        async with httpx.AsyncClient(transport=transport, base_url="http://rapport.test") as c:
            yield c


async def all_users_runs(service: httpx.AsyncClient, as_of: datetime) -> list[dict]:
    body = {"as_of": iso(as_of)}
    responses = await at_once(
        *(service.post(RUN, json=body, headers=SERVICE) for _ in range(RUNNERS))
    )
    for r in responses:
        assert r.status_code == 200, r.text
        assert r.json()["scope"] == "all"
    return [r.json() for r in responses]


async def overlapping_all_users_rounds(
    client: httpx.AsyncClient, service: httpx.AsyncClient, n_users: int
) -> None:
    """Each round adds work for every user and runs overlapping all-users runners a day later
    than the last round, so every user is due to be handled again."""
    users = [await sign_up(client) for _ in range(n_users)]
    expected: list[tuple[set[str], set[str]]] = [(set(), set()) for _ in users]
    as_of = at(3 * DAY)
    for round_ in range(ROUNDS):
        for i, headers in enumerate(users):
            contacts = [due_contact(client, headers, f"Due {round_}.{j}") for j in range(2)]
            if (i + round_) % 3 == 0:
                contacts.append(taking_contact(client, headers, f"Helper {round_}"))
            made = await asyncio.gather(*contacts)
            expected[i][0].update(c["id"] for c in made[:2])
            expected[i][1].update(c["id"] for c in made[2:])
        new_tasks = sum(len(e[0]) + len(e[1]) for e in expected) - sum(
            len(t) for t in [await scheduled_tasks(client, h) for h in users]
        )
        runs = await all_users_runs(service, as_of)
        # Every user handled by exactly one runner.
        assert sum(r["users"] for r in runs) == n_users, [r["users"] for r in runs]
        for r in runs:
            assert sum(b["users"] for b in r["batches"]) == r["users"]
            assert all(1 <= b["users"] <= 2 for b in r["batches"])
        assert sum(r["tasks_created"] for r in runs) == new_tasks
        for headers, (overdue_ids, taking_ids) in zip(users, expected, strict=True):
            assert_once_per_contact(await scheduled_tasks(client, headers), overdue_ids, taking_ids)
        # A runner right after finds nobody left to handle.
        r = await service.post(RUN, json={"as_of": iso(as_of)}, headers=SERVICE)
        assert r.status_code == 200, r.text
        assert r.json()["users"] == 0 and r.json()["tasks_created"] == 0
        as_of += DAY


async def test_overlapping_all_users_runners_split_the_users_and_create_each_task_once(
    postgres_only, client, service
):
    await overlapping_all_users_rounds(client, service, n_users=8)


async def test_user_runs_overlapping_all_users_runs_create_each_task_once(
    postgres_only, client, service
):
    users = [await sign_up(client) for _ in range(4)]
    expected: list[tuple[set[str], set[str]]] = [(set(), set()) for _ in users]
    as_of = at(3 * DAY)
    for round_ in range(ROUNDS):
        for (overdue_ids, taking_ids), headers in zip(expected, users, strict=True):
            made = await in_chunks([due_contact(client, headers, f"Due {i}") for i in range(3)])
            overdue_ids.update(c["id"] for c in made)
            taking_ids.add((await taking_contact(client, headers, f"Helper {round_}"))["id"])
        body = {"as_of": iso(as_of)}
        responses = await at_once(
            service.post(RUN, json=body, headers=SERVICE),
            *(client.post(RUN, json=body, headers=h) for h in users),
            service.post(RUN, json=body, headers=SERVICE),
        )
        assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
        created = sum(r.json()["tasks_created"] for r in responses)
        assert created == 4 * len(users)  # three reconnect and one offer_help each
        for headers, (overdue_ids, taking_ids) in zip(users, expected, strict=True):
            found = await scheduled_tasks(client, headers)
            assert_once_per_contact(found, overdue_ids, taking_ids)
        # The all-users runners still handle every user, once: a user's own run in flight is
        # no reason to leave them out of the cron's run.
        handled = [r.json()["users"] for r in (responses[0], responses[-1])]
        assert sum(handled) == len(users), (round_, handled)
        as_of += DAY


async def test_an_all_users_run_handles_a_user_whose_write_is_in_flight(
    postgres_only, client, service, app
):
    """Any write of a user's records checks its foreign key to the user, which holds FOR KEY
    SHARE on the user's row until it commits. An all-users run at that moment must still
    handle the user (it can update `users` without conflicting with that lock)."""
    headers = await sign_up(client)
    contact = await due_contact(client, headers, "Due")
    async with app.state.runtime.db.writer.connect() as conn:
        await conn.begin()
        # What an INSERT into contacts, interactions, asks or tasks does for its owner_id.
        await conn.execute(text("SELECT 1 FROM users FOR KEY SHARE"))
        r = await service.post(RUN, json={"as_of": iso(at(3 * DAY))}, headers=SERVICE)
        await conn.rollback()
    assert r.status_code == 200, r.text
    assert r.json()["users"] == 1, r.json()
    assert_once_per_contact(await scheduled_tasks(client, headers), {contact["id"]}, set())


# --- runs racing the user's own writes ---
# These run on both databases: SQLite serialises the writes, PostgreSQL really interleaves them.


def races(settings: Settings, on_postgres: int) -> int:
    """How many times to race: SQLite cannot interleave, so a few rounds show the contract."""
    return on_postgres if settings.dialect == "postgresql" else 3


async def tasks_of(
    client: httpx.AsyncClient, headers: dict[str, str], contact_id: str, kind: str
) -> list[dict]:
    return await lists.walk(client, headers, url=TASKS, limit=200, kind=kind, contact_id=contact_id)


@pytest.mark.parametrize("write", ["interaction", "snooze"])
async def test_a_run_racing_a_write_that_ends_the_overdue_leaves_no_pending_reconnect(
    client, alice, settings, write
):
    """Logging a completed interaction (or snoozing the contact) dismisses its pending reconnect
    task; a run that overlaps the write must not leave one pending for the old due date."""
    stale, rounds = [], races(settings, 6)
    for i in range(rounds):
        contact = await new_contact(client, alice, f"Due {i}", cadence_days=30)
        r = await client.post(
            "/v1/interactions",
            json={
                "contact_id": contact["id"],
                "channel": "email",
                "kind": "check_in",
                "status": "completed",
                "occurred_at": iso(at(-60 * DAY)),
            },
            headers=alice,
        )
        assert r.status_code == 201, r.text
        if write == "interaction":
            body = {
                "contact_id": contact["id"],
                "channel": "email",
                "kind": "check_in",
                "status": "completed",
                "occurred_at": iso(at(-DAY)),
            }
            ending = client.post("/v1/interactions", json=body, headers=alice)
        else:
            snooze = {"snoozed_until": iso(at(10 * DAY))}
            ending = client.patch(f"/v1/contacts/{contact['id']}", json=snooze, headers=alice)
        run, ended = await at_once(client.post(RUN, json={}, headers=alice), ending)
        assert run.status_code == 200, run.text
        assert ended.status_code in (200, 201), ended.text
        # Another run afterwards does not repair it either.
        assert (await client.post(RUN, json={}, headers=alice)).status_code == 200
        found = await tasks_of(client, alice, contact["id"], "reconnect")
        stale += [t for t in found if t["status"] == "pending"]
    assert stale == [], f"{len(stale)} of {rounds} contacts kept a pending reconnect task"


async def test_a_run_racing_the_user_closing_offer_help_does_not_make_a_new_one(
    client, alice, settings
):
    """Rule 6 creates no offer_help task within 30 days after the user closed the last one,
    even when runs are under way while the user closes it."""
    recreated, rounds = 0, races(settings, 12)
    for i in range(rounds):
        contact = await taking_contact(client, alice, f"Helper {i}")
        assert (await client.post(RUN, json={}, headers=alice)).status_code == 200
        [task] = await tasks_of(client, alice, contact["id"], "offer_help")
        close = client.patch(f"{TASKS}/{task['id']}", json={"status": "done"}, headers=alice)
        runs = [client.post(RUN, json={}, headers=alice) for _ in range(RUNNERS + 1)]
        responses = await at_once(runs[0], close, *runs[1:])
        assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
        mine = await tasks_of(client, alice, contact["id"], "offer_help")
        assert [t["id"] for t in mine if t["status"] == "done"] == [task["id"]]
        recreated += len(mine) - 1
    assert recreated == 0, f"{recreated} of {rounds} closed offer_help tasks were made again"


# --- SQLite: serialised, but still once ---


async def test_concurrent_runs_on_sqlite_create_each_task_once(client, service, settings):
    if settings.dialect != "sqlite":
        pytest.skip("the PostgreSQL tests above cover real concurrency")
    headers = await sign_up(client)
    overdue = [await due_contact(client, headers, f"Due {i}") for i in range(10)]
    taking = [await taking_contact(client, headers, f"Helper {i}") for i in range(2)]
    body = {"as_of": iso(at(3 * DAY))}
    runs = await user_runs(client, headers, [body] * RUNNERS)
    found = await scheduled_tasks(client, headers)
    assert_once_per_contact(found, {c["id"] for c in overdue}, {c["id"] for c in taking})
    assert sum(r["tasks_created"] for r in runs) == len(found) == 12
    # Overlapping all-users runners too: each user once, nothing created twice.
    more = await due_contact(client, headers, "Late")
    runs = await all_users_runs(service, at(4 * DAY))
    assert sum(r["users"] for r in runs) == 1
    assert sum(r["tasks_created"] for r in runs) == 1
    found = await scheduled_tasks(client, headers)
    assert_once_per_contact(
        found, {c["id"] for c in overdue} | {more["id"]}, {c["id"] for c in taking}
    )
