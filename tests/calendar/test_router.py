"""The calendar feed over HTTP: its secret (create, rotate, disable), and what the feed holds.

What a subscriber's calendar app observes: 404 for any secret that is not live, an iCalendar
document that parses, one all-day event per pending task and per reconnect, promise and nudge
the follow-up list would show (overdue on today, upcoming within 30 days on their own date),
stable UIDs, a bounded number of events, and 304 for an unchanged feed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from icalendar import Calendar

from app.core.config import Settings
from app.main import create_app
from tests.backdate import set_columns
from tests.conftest import sign_up
from tests.contacts.test_router import assert_problem, create
from tests.scheduler.test_router import at, iso, overdue_contact, run

TOKEN = "/v1/me/calendar-token"
TASKS = "/v1/etiquette-tasks"
DAY = timedelta(days=1)


# --- helpers ---


async def enable(client: httpx.AsyncClient, headers: dict[str, str], **extra: str) -> dict:
    r = await client.post(TOKEN, headers={**headers, **extra})
    assert r.status_code == 201, r.text
    body: dict = r.json()
    return body


def feed_path(token: str) -> str:
    return f"/v1/calendar/{token}.ics"


async def fetch(client: httpx.AsyncClient, token: str, **headers: str) -> httpx.Response:
    # Calendar apps send no Authorization header: neither does this.
    return await client.get(feed_path(token), headers=headers)


async def events(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    """The feed's VEVENTs by UID."""
    r = await fetch(client, token)
    assert r.status_code == 200, r.text
    cal = Calendar.from_ical(r.content)
    found = {str(e["uid"]): e for e in cal.walk("VEVENT")}
    assert len(found) == len(cal.walk("VEVENT")), "UIDs repeat"
    return found


def summary(event: Any) -> str:
    return str(event["summary"])


def day(event: Any) -> date:
    start = event.decoded("dtstart")
    assert type(start) is date, "every event is all-day"
    assert event.decoded("dtend") == start + DAY
    return start


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


async def task(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    contact_id: str,
    title: str,
    due: datetime | None,
    **fields: Any,
) -> dict:
    body = {"contact_id": contact_id, "title": title, **fields}
    if due is not None:
        body["due_at"] = iso(due)
    r = await client.post(TASKS, json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def ask(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    contact_id: str,
    direction: str,
    **fields: Any,
) -> dict:
    body = {
        "contact_id": contact_id,
        "direction": direction,
        "kind": "advice",
        "statement": "Could you look over my talk proposal for PyCon?",
        **fields,
    }
    r = await client.post("/v1/asks", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


# --- the secret ---


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_token_routes_without_a_bearer_are_401(client, method):
    r = await client.request(method, TOKEN)
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_create_returns_the_secret_and_the_absolute_feed_url_never_cached(client, alice):
    r = await client.post(TOKEN, headers=alice)
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"token", "url"}
    assert len(body["token"]) >= 43
    assert body["url"] == f"http://rapport.test/v1/calendar/{body['token']}.ics"
    assert r.headers["cache-control"] == "no-store"
    # A Location would hold the secret, and replayed headers are stored unsealed.
    assert "location" not in r.headers

    feed = await client.get(body["url"])
    assert feed.status_code == 200, feed.text
    assert feed.headers["content-type"] == "text/calendar; charset=utf-8"


async def test_rotating_stops_the_old_secret_at_once(client, alice):
    first = await enable(client, alice)
    second = await enable(client, alice)
    assert second["token"] != first["token"]
    assert_problem(await fetch(client, first["token"]), 404)
    assert (await fetch(client, second["token"])).status_code == 200


async def test_delete_disables_the_feed_and_a_second_delete_is_404(client, alice):
    token = (await enable(client, alice))["token"]
    r = await client.delete(TOKEN, headers=alice)
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert_problem(await fetch(client, token), 404)
    assert_problem(await client.delete(TOKEN, headers=alice), 404)
    # Enabling again gives a new secret; the disabled one stays dead.
    again = (await enable(client, alice))["token"]
    assert (await fetch(client, again)).status_code == 200
    assert_problem(await fetch(client, token), 404)


async def test_delete_without_a_feed_is_404(client, alice):
    assert_problem(await client.delete(TOKEN, headers=alice), 404)


@pytest.mark.parametrize(
    "token",
    [
        "Q2FsZW5kYXItZmVlZC1uZXZlci1pc3N1ZWQtX19fX18",  # well-formed (43 characters), never issued
        "x",
        "a" * 5000,  # longer than any secret: refused without hashing
        "%00",
        "..%2F..%2Fetc",
        "with space",
    ],
)
async def test_a_secret_that_is_not_live_is_404_problem(client, alice, token):
    await enable(client, alice)
    r = await fetch(client, token)
    body = assert_problem(r, 404)
    assert "detail" in body


async def test_an_idempotent_retry_replays_the_same_secret_instead_of_rotating_again(client, alice):
    key = {"Idempotency-Key": f"calendar-{uuid.uuid4()}"}
    first = await client.post(TOKEN, headers={**alice, **key})
    again = await client.post(TOKEN, headers={**alice, **key})
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    # Not rotated by the retry: the secret the client kept still opens the feed.
    assert (await fetch(client, first.json()["token"])).status_code == 200
    # Another key is another rotation.
    other = await client.post(TOKEN, headers={**alice, "Idempotency-Key": "another"})
    assert other.json()["token"] != first.json()["token"]
    assert_problem(await fetch(client, first.json()["token"]), 404)


async def test_behind_a_proxy_the_url_has_the_forwarded_scheme_host_and_root_path(app, alice):
    # A proxy on the same host (RAPPORT_TRUSTED_PROXIES' default): the app believes its headers.
    transport = httpx.ASGITransport(app=app, root_path="/rapport", client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://10.0.0.7:8000") as c:
        r = await c.post(
            "/rapport" + TOKEN,
            headers={**alice, "Host": "api.example.com", "X-Forwarded-Proto": "https"},
        )
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    assert r.json()["url"] == f"https://api.example.com/rapport/v1/calendar/{token}.ics"


async def test_a_feed_shows_only_its_owners_data(client, alice, bob):
    alice_token = (await enable(client, alice))["token"]
    bob_token = (await enable(client, bob))["token"]
    grace, _ = await overdue_contact(client, alice, "Grace Hopper")
    await task(client, alice, grace["id"], "Send Grace the COBOL paper", at(2 * DAY))
    linus, _ = await overdue_contact(client, bob, "Linus Torvalds")
    await task(client, bob, linus["id"], "Send Linus the patch", at(2 * DAY))

    mine = [summary(e) for e in (await events(client, alice_token)).values()]
    theirs = [summary(e) for e in (await events(client, bob_token)).values()]
    assert sorted(mine) == [
        "Reconnect with Grace Hopper (30 days overdue)",
        "Send Grace the COBOL paper",
    ]
    assert sorted(theirs) == [
        "Reconnect with Linus Torvalds (30 days overdue)",
        "Send Linus the patch",
    ]


# --- what the feed holds ---


async def test_the_calendar_names_itself_and_asks_to_be_refreshed_every_few_hours(client, alice):
    token = (await enable(client, alice))["token"]
    r = await fetch(client, token)
    cal = Calendar.from_ical(r.content)
    assert cal.name == "VCALENDAR"
    assert str(cal["version"]) == "2.0"
    assert "Rapport" in str(cal["prodid"])
    assert str(cal["x-wr-calname"]) == "Rapport"
    refresh = cal.decoded("refresh-interval")
    assert timedelta(hours=1) <= refresh <= timedelta(hours=12)
    assert "X-PUBLISHED-TTL:PT" in r.text
    assert cal.walk("VEVENT") == []


async def test_the_feed_holds_exactly_the_pending_tasks_and_the_follow_ups_due_within_30_days(
    client, app, alice
):
    token = (await enable(client, alice))["token"]
    now = at()
    today = utc_day(now)  # alice's time zone is UTC

    # Tasks: pending ones are shown (undated on today); closed or deleted ones are not.
    kate = await create(client, alice, full_name="Katherine Johnson")
    upcoming_task = await task(
        client, alice, kate["id"], "Send Katherine the orbit notes", at(5 * DAY)
    )
    undated = await task(client, alice, kate["id"], "Ask Katherine about NASA", None)
    for status in ("done", "dismissed"):
        closed = await task(client, alice, kate["id"], f"Closed: {status}", at(DAY))
        r = await client.patch(f"{TASKS}/{closed['id']}", json={"status": status}, headers=alice)
        assert r.status_code == 200, r.text
    deleted = await task(client, alice, kate["id"], "Deleted", at(DAY))
    assert (await client.delete(f"{TASKS}/{deleted['id']}", headers=alice)).status_code == 204

    # A rule task (rule 1): a meeting three days ago wants a thank-you note, due a day ago.
    grace = await create(client, alice, full_name="Grace Hopper")
    met = {
        "contact_id": grace["id"],
        "channel": "in_person",
        "kind": "meeting",
        "status": "completed",
        "occurred_at": iso(at(-3 * DAY)),
    }
    assert (await client.post("/v1/interactions", json=met, headers=alice)).status_code == 201
    thank_you = [t for t in (await client.get(TASKS, headers=alice)).json()["items"]
                 if t["kind"] == "thank_you_note"]  # fmt: skip
    assert len(thank_you) == 1

    # Reconnects: overdue (shown on today), due in 20 days (on its date), in 45 days (absent),
    # and overdue contacts that are snoozed or untracked (absent).
    ada, ada_due = await overdue_contact(client, alice, "Ada Lovelace", last=timedelta(days=42))
    linus = await create(client, alice, full_name="Linus Torvalds", cadence_days=20)
    await create(client, alice, full_name="Barbara Liskov", cadence_days=45)
    await overdue_contact(client, alice, "Snoozed Sam", snoozed_until=iso(at(10 * DAY)))
    await overdue_contact(client, alice, "Untracked Uma", track_follow_ups=False)

    # A promise (incoming ask accepted, due in 3 days) and a nudge (outgoing, open 20 days).
    margaret = await create(client, alice, full_name="Margaret Hamilton")
    promise = await ask(client, alice, margaret["id"], "incoming", due_at=iso(at(3 * DAY)))
    r = await client.patch(f"/v1/asks/{promise['id']}", json={"status": "accepted"}, headers=alice)
    assert r.status_code == 200, r.text
    radia = await create(client, alice, full_name="Radia Perlman")
    nudge = await ask(client, alice, radia["id"], "outgoing", researched=True)
    await set_columns(app, "asks", nudge["id"], created_at=now - 20 * DAY)
    # An incoming ask not accepted is neither; an outgoing one just made is a nudge due in 14
    # days, which the feed shows on that day.
    await ask(client, alice, margaret["id"], "incoming", due_at=iso(at(3 * DAY)))
    fresh = await ask(client, alice, radia["id"], "outgoing", researched=True)
    fresh_due = datetime.fromisoformat(fresh["created_at"]) + 14 * DAY

    found = await events(client, token)
    linus_due = datetime.fromisoformat(linus["created_at"]) + 20 * DAY
    expected = {
        f"task-{upcoming_task['id']}@rapport": (
            utc_day(at(5 * DAY)),
            "Send Katherine the orbit notes",
        ),
        f"task-{undated['id']}@rapport": (today, "Ask Katherine about NASA"),
        f"task-{thank_you[0]['id']}@rapport": (
            today,
            "Thank-you note to Grace Hopper (1 day overdue)",
        ),
        f"reconnect-{ada['id']}-{utc_day(ada_due):%Y%m%d}@rapport": (
            today,
            "Reconnect with Ada Lovelace (12 days overdue)",
        ),
        f"reconnect-{linus['id']}-{utc_day(linus_due):%Y%m%d}@rapport": (
            utc_day(linus_due),
            "Reconnect with Linus Torvalds",
        ),
        f"promise-{promise['id']}@rapport": (
            utc_day(at(3 * DAY)),
            "Promised to Margaret Hamilton: Could you look over my talk proposal for PyCon?",
        ),
        f"nudge-{nudge['id']}@rapport": (
            today,
            "Follow up on your ask to Radia Perlman (6 days overdue)",
        ),
        f"nudge-{fresh['id']}@rapport": (
            utc_day(fresh_due),
            "Follow up on your ask to Radia Perlman",
        ),
    }
    assert {uid: (day(e), summary(e)) for uid, e in found.items()} == expected
    for event in found.values():
        assert str(event["description"])
        assert event.get("dtstamp") is not None
        assert str(event["transp"]) == "TRANSPARENT"
    assert "No due date" in str(found[f"task-{undated['id']}@rapport"]["description"])


async def test_a_reconnect_task_made_by_the_scheduler_is_not_shown_twice(client, alice):
    token = (await enable(client, alice))["token"]
    ada, due = await overdue_contact(client, alice, "Ada Lovelace")
    assert (await run(client, alice))["tasks_created"] == 1
    found = await events(client, token)
    assert list(found) == [f"reconnect-{ada['id']}-{utc_day(due):%Y%m%d}@rapport"]


async def test_rule_tasks_read_with_the_contacts_current_name(client, alice):
    token = (await enable(client, alice))["token"]
    grace = await create(client, alice, full_name="Grace Hopper")
    met = {
        "contact_id": grace["id"],
        "channel": "video",
        "kind": "informational_interview",
        "status": "completed",
        "occurred_at": iso(at(-DAY)),
    }
    assert (await client.post("/v1/interactions", json=met, headers=alice)).status_code == 201
    r = await client.patch(
        f"/v1/contacts/{grace['id']}",
        json={"full_name": "Rear Admiral Grace Hopper"},
        headers=alice,
    )
    assert r.status_code == 200, r.text
    [event] = (await events(client, token)).values()
    assert summary(event) == "Thank-you note to Rear Admiral Grace Hopper"
    assert "Due " in str(event["description"])


async def test_dates_are_in_the_users_time_zone(client):
    headers = await sign_up_in_zone(client, "America/Los_Angeles")
    token = (await enable(client, headers))["token"]
    contact = await create(client, headers, full_name="Grace Hopper")
    # 06:00 UTC is the evening before in Los Angeles.
    due = datetime.combine(utc_day(at(10 * DAY)), datetime.min.time(), UTC) + timedelta(hours=6)
    upcoming = await task(client, headers, contact["id"], "Send the slides", due)
    overdue = await task(client, headers, contact["id"], "Write the memo", at(-3 * DAY))
    found = await events(client, token)
    zone = ZoneInfo("America/Los_Angeles")
    assert day(found[f"task-{upcoming['id']}@rapport"]) == utc_day(due) - DAY
    assert day(found[f"task-{overdue['id']}@rapport"]) == datetime.now(zone).date()
    assert "America/Los_Angeles" in str(found[f"task-{upcoming['id']}@rapport"]["description"])


async def sign_up_in_zone(client: httpx.AsyncClient, zone: str) -> dict[str, str]:
    headers = await sign_up(client)
    r = await client.patch("/v1/me", json={"timezone": zone}, headers=headers)
    assert r.status_code == 200, r.text
    return headers


async def test_uids_and_the_body_are_stable_and_if_none_match_is_304(client, alice):
    token = (await enable(client, alice))["token"]
    ada, _ = await overdue_contact(client, alice, "Ada Lovelace")
    await task(client, alice, ada["id"], "Send Ada the notes", at(4 * DAY))
    first = await fetch(client, token)
    second = await fetch(client, token)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    uids = [str(e["uid"]) for e in Calendar.from_ical(first.content).walk("VEVENT")]
    assert uids == [str(e["uid"]) for e in Calendar.from_ical(second.content).walk("VEVENT")]
    etag = first.headers["etag"]
    assert etag == second.headers["etag"]
    assert "no-cache" in first.headers["cache-control"]

    r = await fetch(client, token, **{"If-None-Match": etag})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == etag

    # A change to what the feed shows changes the ETag.
    await task(client, alice, ada["id"], "Another one", at(5 * DAY))
    r = await fetch(client, token, **{"If-None-Match": etag})
    assert r.status_code == 200
    assert r.headers["etag"] != etag


# --- the cap ---


@pytest.fixture
async def capped_app(migrated: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(migrated.model_copy(update={"calendar_max_events": 3}))
    yield application
    await application.state.runtime.db.dispose()


async def test_the_feed_holds_at_most_the_configured_number_of_events_earliest_first(
    client, capped_app, alice
):
    token = (await enable(client, alice))["token"]
    contact, due = await overdue_contact(client, alice, "Ada Lovelace")  # overdue: earliest
    made = [
        await task(client, alice, contact["id"], f"Task {n}", at((n + 1) * DAY)) for n in range(4)
    ]

    transport = httpx.ASGITransport(app=capped_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rapport.test") as capped:
        r = await fetch(capped, token)
    assert r.status_code == 200, r.text
    cal = Calendar.from_ical(r.content)
    uids = sorted(str(e["uid"]) for e in cal.walk("VEVENT"))
    assert uids == sorted(
        [
            f"reconnect-{contact['id']}-{utc_day(due):%Y%m%d}@rapport",
            f"task-{made[0]['id']}@rapport",
            f"task-{made[1]['id']}@rapport",
        ]
    )
    assert "3 earliest" in str(cal["x-wr-caldesc"])
    # The app's own default shows them all.
    assert len(await events(client, token)) == 5


def uid_of(item: dict) -> str:
    """The feed's UID for an item of `GET /v1/follow-ups`."""
    if item["type"] == "reconnect":
        due = utc_day(datetime.fromisoformat(item["due_at"]))
        return f"reconnect-{item['contact_id']}-{due:%Y%m%d}@rapport"
    prefix = {"etiquette_task": "task", "promise": "promise", "nudge": "nudge"}[item["type"]]
    return f"{prefix}-{item['reference_id']}@rapport"


async def test_the_feed_agrees_with_the_follow_up_list_now_and_30_days_ahead(client, app, alice):
    token = (await enable(client, alice))["token"]
    for n, last in enumerate((10, 25, 40, 55, 70)):
        contact, _ = await overdue_contact(client, alice, f"Contact {n}", last=timedelta(days=last))
        await task(client, alice, contact["id"], f"Overdue {n}", at(-n * DAY - timedelta(hours=1)))
        promised = await ask(client, alice, contact["id"], "incoming", due_at=iso(at(n * 7 * DAY)))
        r = await client.patch(
            f"/v1/asks/{promised['id']}", json={"status": "accepted"}, headers=alice
        )
        assert r.status_code == 200, r.text
        asked = await ask(client, alice, contact["id"], "outgoing", researched=True)
        await set_columns(app, "asks", asked["id"], created_at=at(-n * 6 * DAY))
    await run(client, alice)  # reconnect tasks: the reconnect items stand for them

    feed = set(await events(client, token))
    now_items = (await client.get("/v1/follow-ups", params={"limit": 200}, headers=alice)).json()
    ahead = await client.get(
        "/v1/follow-ups", params={"limit": 200, "as_of": iso(at(30 * DAY))}, headers=alice
    )
    ahead_items = [i for i in ahead.json()["items"] if i["type"] != "etiquette_task"]
    # Everything overdue now, and every reconnect, promise and nudge due within 30 days.
    assert {uid_of(i) for i in now_items["items"]} <= feed
    assert {uid_of(i) for i in ahead_items} <= feed
    # And nothing else but pending tasks due later.
    tasks_later = [t for t in (await client.get(TASKS, headers=alice)).json()["items"]
                   if t["status"] == "pending" and t["kind"] != "reconnect"]  # fmt: skip
    assert feed == {uid_of(i) for i in ahead_items} | {
        f"task-{t['id']}@rapport" for t in tasks_later
    }
