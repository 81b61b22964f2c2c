"""Etiquette rules 1–4 at write time, observed through the HTTP API (PRODUCT.md "Rules").

Example tests pin each behaviour; a hypothesis test drives random sequences of writes and checks
the rules' invariants against a small reference model written here.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import sign_up

H48 = timedelta(hours=48)
H72 = timedelta(hours=72)
H24 = timedelta(hours=24)
FAR = timedelta(days=400)  # far enough that "or now, if sooner" never applies

# --- helpers ---


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def at(offset: timedelta) -> datetime:
    """Now plus `offset`, to the whole second."""
    return (datetime.now(UTC) + offset).replace(microsecond=0)


async def create_contact(
    client: httpx.AsyncClient, headers: dict[str, str], name: str = "Grace Hopper"
) -> dict:
    r = await client.post("/v1/contacts", json={"full_name": name}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def create_interaction(
    client: httpx.AsyncClient, headers: dict[str, str], contact: dict, **fields: Any
) -> dict:
    body = {
        "contact_id": contact["id"],
        "channel": "in_person",
        "kind": "meeting",
        "status": "completed",
        "occurred_at": iso(at(-FAR)),
        **fields,
    }
    if isinstance(body["occurred_at"], datetime):
        body["occurred_at"] = iso(body["occurred_at"])
    r = await client.post("/v1/interactions", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def patch_interaction(
    client: httpx.AsyncClient, headers: dict[str, str], interaction: dict, **changes: Any
) -> dict:
    changes = {k: iso(v) if isinstance(v, datetime) else v for k, v in changes.items()}
    r = await client.patch(f"/v1/interactions/{interaction['id']}", json=changes, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def delete(client: httpx.AsyncClient, headers: dict[str, str], url: str) -> None:
    r = await client.delete(url, headers=headers)
    assert r.status_code == 204, r.text


async def create_ask(
    client: httpx.AsyncClient, headers: dict[str, str], contact: dict, **fields: Any
) -> dict:
    body = {
        "contact_id": contact["id"],
        "direction": "outgoing",
        "kind": "advice",
        "statement": "Could you review my resume for a compiler-engineer role?",
        "researched": True,
        **fields,
    }
    r = await client.post("/v1/asks", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def patch_ask(
    client: httpx.AsyncClient, headers: dict[str, str], ask: dict, **changes: Any
) -> dict:
    r = await client.patch(f"/v1/asks/{ask['id']}", json=changes, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def patch_task(
    client: httpx.AsyncClient, headers: dict[str, str], task: dict, **changes: Any
) -> dict:
    r = await client.patch(f"/v1/etiquette-tasks/{task['id']}", json=changes, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def all_pages(client: httpx.AsyncClient, headers: dict[str, str], url: str, **params) -> list:
    items: list[dict] = []
    cursor = None
    while True:
        query = {**params, "limit": 200, **({"cursor": cursor} if cursor else {})}
        r = await client.get(url, params=query, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def tasks(client: httpx.AsyncClient, headers: dict[str, str], **params) -> list[dict]:
    return await all_pages(client, headers, "/v1/etiquette-tasks", **params)


async def tasks_of(
    client: httpx.AsyncClient, headers: dict[str, str], record: dict, kind: str | None = None
) -> list[dict]:
    """The tasks caused by one interaction or ask, optionally of one kind."""
    found = [
        t
        for t in await tasks(client, headers)
        if record["id"] in (t["interaction_id"], t["ask_id"])
    ]
    return [t for t in found if kind is None or t["kind"] == kind]


async def only_task(
    client: httpx.AsyncClient, headers: dict[str, str], record: dict, kind: str
) -> dict:
    found = await tasks_of(client, headers, record, kind)
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
async def grace(client, alice) -> dict:
    return await create_contact(client, alice, "Grace Hopper")


# --- rule 1: thank-you note after a completed meeting or call ---


@pytest.mark.parametrize(
    ("channel", "kind"),
    [
        ("in_person", "check_in"),
        ("video", "other"),
        ("phone", "introduction"),
        ("email", "meeting"),
        ("message", "informational_interview"),
        ("online", "event"),
    ],
)
async def test_completed_call_or_meeting_gets_one_thank_you_note_due_48h_after_it(
    client, alice, grace, channel, kind
):
    occurred = at(-timedelta(days=3))
    interaction = await create_interaction(
        client, alice, grace, channel=channel, kind=kind, status="completed", occurred_at=occurred
    )
    [task] = await tasks(client, alice)
    assert task["kind"] == "thank_you_note"
    assert task["source"] == "rule"
    assert task["status"] == "pending"
    assert task["interaction_id"] == interaction["id"]
    assert task["ask_id"] is None
    assert task["contact_id"] == grace["id"]
    assert "Grace Hopper" in task["title"]
    assert parse(task["due_at"]) == occurred + H48
    assert task["completed_at"] is None


async def test_completed_email_check_in_gets_no_task(client, alice, grace):
    await create_interaction(client, alice, grace, channel="email", kind="check_in")
    assert await tasks(client, alice) == []


async def test_planned_call_gets_no_thank_you_note_until_it_is_completed(client, alice, grace):
    occurred = at(FAR)
    call = await create_interaction(
        client, alice, grace, channel="phone", kind="check_in", status="planned",
        occurred_at=occurred,
    )  # fmt: skip
    assert await tasks(client, alice) == []
    await patch_interaction(client, alice, call, status="completed")
    task = await only_task(client, alice, call, "thank_you_note")
    assert task["status"] == "pending"
    assert parse(task["due_at"]) == occurred + H48


async def test_cancelled_meeting_gets_no_thank_you_note(client, alice, grace):
    await create_interaction(client, alice, grace, status="cancelled", objective="Hiring")
    assert await tasks(client, alice) == []


# --- rule 2: thank-you note when an outgoing ask is fulfilled ---


async def test_outgoing_ask_fulfilled_gets_thank_you_note_due_48h_after_resolved_at(
    client, alice, grace
):
    ask = await create_ask(client, alice, grace)
    assert await tasks(client, alice) == []
    ask = await patch_ask(client, alice, ask, status="fulfilled")
    [task] = await tasks(client, alice)
    assert task["kind"] == "thank_you_note"
    assert task["source"] == "rule"
    assert task["status"] == "pending"
    assert task["ask_id"] == ask["id"]
    assert task["interaction_id"] is None
    assert task["contact_id"] == grace["id"]
    assert "Grace Hopper" in task["title"]
    assert parse(task["due_at"]) == parse(ask["resolved_at"]) + H48


async def test_incoming_fulfilled_ask_gets_no_task(client, alice, grace):
    ask = await create_ask(client, alice, grace, direction="incoming")
    await patch_ask(client, alice, ask, status="fulfilled")
    assert await tasks(client, alice) == []


async def test_outgoing_ask_declined_or_withdrawn_gets_no_task(client, alice, grace):
    declined = await create_ask(client, alice, grace)
    await patch_ask(client, alice, declined, status="declined")
    withdrawn = await create_ask(client, alice, grace, status="accepted")
    await patch_ask(client, alice, withdrawn, status="withdrawn")
    assert await tasks(client, alice) == []


async def test_reopening_fulfilled_ask_dismisses_its_pending_note(client, alice, grace):
    ask = await patch_ask(client, alice, await create_ask(client, alice, grace), status="fulfilled")
    await patch_ask(client, alice, ask, status="open")
    task = await only_task(client, alice, ask, "thank_you_note")
    assert task["status"] == "dismissed"
    assert task["completed_at"] is None


async def test_fulfilling_reopened_ask_again_reopens_the_same_note_with_the_new_due_date(
    client, alice, grace
):
    ask = await patch_ask(client, alice, await create_ask(client, alice, grace), status="fulfilled")
    first = await only_task(client, alice, ask, "thank_you_note")
    await patch_ask(client, alice, ask, status="open")
    await asyncio.sleep(0.01)  # a later resolved_at
    ask = await patch_ask(client, alice, ask, status="fulfilled")
    again = await only_task(client, alice, ask, "thank_you_note")
    assert again["id"] == first["id"]
    assert again["status"] == "pending"
    assert parse(again["due_at"]) == parse(ask["resolved_at"]) + H48
    assert again["due_at"] != first["due_at"]
    assert len(await tasks(client, alice)) == 1


async def test_deleting_fulfilled_ask_dismisses_its_pending_note(client, alice, grace):
    ask = await patch_ask(client, alice, await create_ask(client, alice, grace), status="fulfilled")
    await delete(client, alice, f"/v1/asks/{ask['id']}")
    [task] = await tasks(client, alice)
    assert task["status"] == "dismissed"


# --- rule 3: confirm the meeting time when I proposed it ---


@pytest.mark.parametrize("kind", ["meeting", "informational_interview"])
async def test_planned_meeting_at_my_proposed_time_gets_confirm_task_due_72h_before(
    client, alice, grace, kind
):
    occurred = at(FAR)
    meeting = await create_interaction(
        client, alice, grace, kind=kind, status="planned", occurred_at=occurred,
        time_proposed_by="me", objective="Learn how her team hires",
    )  # fmt: skip
    [task] = await tasks(client, alice)
    assert task["kind"] == "confirm_meeting_time"
    assert task["source"] == "rule"
    assert task["status"] == "pending"
    assert task["interaction_id"] == meeting["id"]
    assert task["contact_id"] == grace["id"]
    assert "Grace Hopper" in task["title"]
    assert parse(task["due_at"]) == occurred - H72


async def test_confirm_task_is_due_now_when_72h_before_has_already_passed(client, alice, grace):
    before = datetime.now(UTC)
    meeting = await create_interaction(
        client, alice, grace, status="planned", occurred_at=at(timedelta(hours=30)),
        time_proposed_by="me", objective="Learn how her team hires",
    )  # fmt: skip
    after = datetime.now(UTC)
    task = await only_task(client, alice, meeting, "confirm_meeting_time")
    assert before <= parse(task["due_at"]) <= after


async def test_planned_meeting_at_the_contacts_proposed_time_gets_no_confirm_task(
    client, alice, grace
):
    await create_interaction(
        client, alice, grace, status="planned", occurred_at=at(FAR),
        time_proposed_by="contact", objective="Learn how her team hires",
    )  # fmt: skip
    assert await tasks(client, alice) == []


async def test_planned_check_in_at_my_proposed_time_gets_no_confirm_task(client, alice, grace):
    await create_interaction(
        client, alice, grace, kind="check_in", channel="phone", status="planned",
        occurred_at=at(FAR), time_proposed_by="me",
    )  # fmt: skip
    assert await tasks(client, alice) == []


async def test_time_proposed_by_changed_to_contact_dismisses_the_confirm_task(client, alice, grace):
    meeting = await create_interaction(
        client, alice, grace, status="planned", occurred_at=at(FAR),
        time_proposed_by="me", objective="Learn how her team hires",
    )  # fmt: skip
    await patch_interaction(client, alice, meeting, time_proposed_by="contact")
    task = await only_task(client, alice, meeting, "confirm_meeting_time")
    assert task["status"] == "dismissed"
    assert task["completed_at"] is None


# --- rule 4: set an objective before a planned meeting ---


@pytest.mark.parametrize("kind", ["meeting", "informational_interview"])
async def test_planned_meeting_without_objective_gets_set_objective_task_due_24h_before(
    client, alice, grace, kind
):
    occurred = at(FAR)
    meeting = await create_interaction(
        client, alice, grace, kind=kind, status="planned", occurred_at=occurred
    )
    [task] = await tasks(client, alice)
    assert task["kind"] == "set_objective"
    assert task["source"] == "rule"
    assert task["status"] == "pending"
    assert task["interaction_id"] == meeting["id"]
    assert task["contact_id"] == grace["id"]
    assert "Grace Hopper" in task["title"]
    assert parse(task["due_at"]) == occurred - H24


async def test_set_objective_task_is_due_now_when_24h_before_has_already_passed(
    client, alice, grace
):
    before = datetime.now(UTC)
    meeting = await create_interaction(
        client, alice, grace, status="planned", occurred_at=at(timedelta(hours=6))
    )
    after = datetime.now(UTC)
    task = await only_task(client, alice, meeting, "set_objective")
    assert before <= parse(task["due_at"]) <= after


async def test_planned_meeting_with_objective_gets_no_set_objective_task(client, alice, grace):
    await create_interaction(
        client, alice, grace, status="planned", occurred_at=at(FAR), objective="Hiring"
    )
    assert await tasks(client, alice) == []


async def test_setting_the_objective_dismisses_the_set_objective_task(client, alice, grace):
    meeting = await create_interaction(client, alice, grace, status="planned", occurred_at=at(FAR))
    await patch_interaction(client, alice, meeting, objective="Learn how her team hires")
    task = await only_task(client, alice, meeting, "set_objective")
    assert task["status"] == "dismissed"


async def test_clearing_the_objective_again_reopens_the_same_task(client, alice, grace):
    occurred = at(FAR)
    meeting = await create_interaction(client, alice, grace, status="planned", occurred_at=occurred)
    first = await only_task(client, alice, meeting, "set_objective")
    await patch_interaction(client, alice, meeting, objective="Learn how her team hires")
    await patch_interaction(client, alice, meeting, objective=None)
    again = await only_task(client, alice, meeting, "set_objective")
    assert again["id"] == first["id"]
    assert again["status"] == "pending"
    assert parse(again["due_at"]) == occurred - H24
    assert len(await tasks(client, alice)) == 1


# --- pending tasks follow their record ---


async def test_rescheduling_a_planned_meeting_moves_its_pending_tasks(client, alice, grace):
    meeting = await create_interaction(
        client, alice, grace, status="planned", occurred_at=at(FAR), time_proposed_by="me"
    )
    later = at(FAR + timedelta(days=10, hours=3))
    await patch_interaction(client, alice, meeting, occurred_at=later)
    confirm = await only_task(client, alice, meeting, "confirm_meeting_time")
    objective = await only_task(client, alice, meeting, "set_objective")
    assert parse(confirm["due_at"]) == later - H72
    assert parse(objective["due_at"]) == later - H24
    assert confirm["status"] == objective["status"] == "pending"
    assert confirm["version"] == objective["version"] == 2


async def test_rescheduling_a_meeting_to_tomorrow_makes_its_tasks_due_now(client, alice, grace):
    meeting = await create_interaction(
        client, alice, grace, status="planned", occurred_at=at(FAR), time_proposed_by="me"
    )
    before = datetime.now(UTC)
    await patch_interaction(client, alice, meeting, occurred_at=at(timedelta(hours=12)))
    after = datetime.now(UTC)
    for kind in ("confirm_meeting_time", "set_objective"):
        task = await only_task(client, alice, meeting, kind)
        assert before <= parse(task["due_at"]) <= after, kind


async def test_moving_a_completed_meeting_moves_its_pending_thank_you_note(client, alice, grace):
    meeting = await create_interaction(client, alice, grace, occurred_at=at(-FAR))
    corrected = at(-timedelta(days=2))
    await patch_interaction(client, alice, meeting, occurred_at=corrected)
    task = await only_task(client, alice, meeting, "thank_you_note")
    assert parse(task["due_at"]) == corrected + H48


async def test_cancelling_a_planned_meeting_dismisses_its_confirm_and_objective_tasks(
    client, alice, grace
):
    meeting = await create_interaction(
        client, alice, grace, status="planned", occurred_at=at(FAR), time_proposed_by="me"
    )
    await patch_interaction(client, alice, meeting, status="cancelled")
    found = await tasks(client, alice)
    assert sorted(t["kind"] for t in found) == ["confirm_meeting_time", "set_objective"]
    assert all(t["status"] == "dismissed" for t in found)


async def test_completing_a_planned_meeting_swaps_its_preparation_tasks_for_a_thank_you_note(
    client, alice, grace
):
    occurred = at(-timedelta(hours=1))
    meeting = await create_interaction(
        client, alice, grace, status="planned", occurred_at=occurred, time_proposed_by="me"
    )
    await patch_interaction(client, alice, meeting, status="completed")
    by_kind = {t["kind"]: t for t in await tasks(client, alice)}
    assert by_kind["confirm_meeting_time"]["status"] == "dismissed"
    assert by_kind["set_objective"]["status"] == "dismissed"
    assert by_kind["thank_you_note"]["status"] == "pending"
    assert parse(by_kind["thank_you_note"]["due_at"]) == occurred + H48
    assert len(by_kind) == 3


async def test_deleting_an_interaction_dismisses_its_pending_tasks(client, alice, grace):
    meeting = await create_interaction(
        client, alice, grace, status="planned", occurred_at=at(FAR), time_proposed_by="me"
    )
    call = await create_interaction(client, alice, grace, channel="phone", kind="check_in")
    await delete(client, alice, f"/v1/interactions/{meeting['id']}")
    await delete(client, alice, f"/v1/interactions/{call['id']}")
    found = await tasks(client, alice)
    assert sorted(t["kind"] for t in found) == [
        "confirm_meeting_time",
        "set_objective",
        "thank_you_note",
    ]
    assert all(t["status"] == "dismissed" for t in found)


async def test_an_unrelated_edit_leaves_due_dates_and_versions_of_its_tasks_alone(
    client, alice, grace
):
    # One task due at a date, one held at "now" because its date had already passed.
    meeting = await create_interaction(
        client, alice, grace, status="planned", occurred_at=at(timedelta(hours=40)),
        time_proposed_by="me",
    )  # fmt: skip
    call = await create_interaction(client, alice, grace, channel="phone", kind="check_in")
    before = sorted(await tasks(client, alice), key=lambda t: t["id"])
    assert len(before) == 3
    await asyncio.sleep(0.01)
    await patch_interaction(client, alice, meeting, summary="Agenda sent.", channel="video")
    await patch_interaction(client, alice, call, summary="She liked the draft.")
    assert sorted(await tasks(client, alice), key=lambda t: t["id"]) == before


async def test_a_due_date_the_user_chose_survives_an_unrelated_edit_but_follows_a_reschedule(
    client, alice, grace
):
    meeting = await create_interaction(client, alice, grace, occurred_at=at(-FAR))
    task = await only_task(client, alice, meeting, "thank_you_note")
    mine = await patch_task(client, alice, task, due_at=iso(at(timedelta(days=7))))
    await patch_interaction(client, alice, meeting, summary="She liked the draft.")
    await patch_interaction(client, alice, meeting, channel="video")
    assert await tasks(client, alice) == [mine]

    moved = at(-timedelta(days=1))
    await patch_interaction(client, alice, meeting, occurred_at=moved)
    task = await only_task(client, alice, meeting, "thank_you_note")
    assert parse(task["due_at"]) == moved + H48


# --- a task the user closed or deleted is never re-created ---


async def test_a_task_marked_done_stays_done_after_edits_that_would_reopen_or_move_it(
    client, alice, grace
):
    meeting = await create_interaction(client, alice, grace, status="planned", occurred_at=at(FAR))
    task = await only_task(client, alice, meeting, "set_objective")
    done = await patch_task(client, alice, task, status="done")
    assert done["completed_at"] is not None
    await patch_interaction(client, alice, meeting, objective="Hiring")
    await patch_interaction(client, alice, meeting, objective=None)
    await patch_interaction(client, alice, meeting, occurred_at=at(FAR + timedelta(days=7)))
    await patch_interaction(client, alice, meeting, status="cancelled")
    await patch_interaction(client, alice, meeting, status="planned")
    assert await tasks(client, alice) == [done]


async def test_a_note_the_user_dismissed_stays_dismissed_when_the_ask_is_fulfilled_again(
    client, alice, grace
):
    ask = await patch_ask(client, alice, await create_ask(client, alice, grace), status="fulfilled")
    note = await only_task(client, alice, ask, "thank_you_note")
    dismissed = await patch_task(client, alice, note, status="dismissed")
    await patch_ask(client, alice, ask, status="open")
    await patch_ask(client, alice, ask, status="fulfilled")
    assert await tasks(client, alice) == [dismissed]


async def test_a_thank_you_note_marked_done_is_not_moved_when_the_meeting_is_edited(
    client, alice, grace
):
    meeting = await create_interaction(
        client, alice, grace, occurred_at=at(-FAR), objective="Hiring"
    )
    done = await patch_task(
        client, alice, await only_task(client, alice, meeting, "thank_you_note"), status="done"
    )
    await patch_interaction(client, alice, meeting, occurred_at=at(-timedelta(days=1)))
    await patch_interaction(client, alice, meeting, status="planned")
    await patch_interaction(client, alice, meeting, status="completed")
    assert await tasks(client, alice) == [done]


async def test_a_task_the_rule_dismissed_then_the_user_dismissed_is_not_reopened(
    client, alice, grace
):
    meeting = await create_interaction(client, alice, grace, status="planned", occurred_at=at(FAR))
    await patch_interaction(client, alice, meeting, objective="Hiring")
    task = await only_task(client, alice, meeting, "set_objective")
    assert task["status"] == "dismissed"
    mine = await patch_task(client, alice, task, status="dismissed")
    await patch_interaction(client, alice, meeting, objective=None)
    assert await tasks(client, alice) == [mine]


async def test_a_deleted_task_is_not_re_created_by_later_edits(client, alice, grace):
    meeting = await create_interaction(
        client, alice, grace, status="planned", occurred_at=at(FAR), time_proposed_by="me"
    )
    for task in await tasks(client, alice):
        await delete(client, alice, f"/v1/etiquette-tasks/{task['id']}")
    await patch_interaction(client, alice, meeting, status="cancelled")
    await patch_interaction(client, alice, meeting, status="planned")
    await patch_interaction(client, alice, meeting, occurred_at=at(FAR + timedelta(days=1)))
    assert await tasks(client, alice) == []

    ask = await patch_ask(client, alice, await create_ask(client, alice, grace), status="fulfilled")
    note = await only_task(client, alice, ask, "thank_you_note")
    await delete(client, alice, f"/v1/etiquette-tasks/{note['id']}")
    await patch_ask(client, alice, ask, status="open")
    await patch_ask(client, alice, ask, status="fulfilled")
    assert await tasks(client, alice) == []


async def test_many_edits_leave_at_most_one_task_per_rule_and_record(client, alice, grace):
    meeting = await create_interaction(
        client, alice, grace, status="planned", occurred_at=at(FAR), time_proposed_by="me"
    )
    moves: list[dict[str, Any]] = [
        {"status": "completed"},
        {"status": "planned"},
        {"objective": "Hiring"},
        {"objective": None},
        {"time_proposed_by": "contact"},
        {"time_proposed_by": "me"},
        {"status": "cancelled"},
        {"status": "planned", "occurred_at": iso(at(FAR + timedelta(days=3)))},
        {"status": "completed", "occurred_at": iso(at(-timedelta(days=3)))},
    ]
    for _ in range(2):
        for changes in moves:
            await patch_interaction(client, alice, meeting, **changes)
    ask = await create_ask(client, alice, grace)
    for status in ["fulfilled", "open", "fulfilled", "open", "accepted", "fulfilled"]:
        await patch_ask(client, alice, ask, status=status)

    found = await tasks(client, alice)
    keys = Counter((t["kind"], t["interaction_id"], t["ask_id"]) for t in found)
    assert sorted(keys.values()) == [1, 1, 1, 1], keys
    states = {(t["kind"], t["ask_id"] is not None): t["status"] for t in found}
    assert states == {
        ("thank_you_note", False): "pending",  # the meeting ended completed
        ("confirm_meeting_time", False): "dismissed",
        ("set_objective", False): "dismissed",
        ("thank_you_note", True): "pending",  # the ask ended fulfilled
    }


# --- deleting a contact takes its records with it ---


async def test_deleting_a_contact_removes_its_interactions_asks_and_tasks_in_one_request(
    client, alice, grace
):
    ada = await create_contact(client, alice, "Ada Lovelace")
    mine: dict[str, list[str]] = {}
    for contact in (grace, ada):
        meeting = await create_interaction(
            client, alice, contact, status="planned", occurred_at=at(FAR), time_proposed_by="me"
        )
        call = await create_interaction(client, alice, contact, channel="phone")
        ask = await create_ask(client, alice, contact, status="fulfilled")
        own_tasks = await tasks(client, alice, contact_id=contact["id"])
        mine[contact["id"]] = [
            f"/v1/interactions/{meeting['id']}",
            f"/v1/interactions/{call['id']}",
            f"/v1/asks/{ask['id']}",
            *(f"/v1/etiquette-tasks/{t['id']}" for t in own_tasks),
        ]
    assert len(mine[grace["id"]]) == 3 + 4
    ada_before = [(await client.get(url, headers=alice)).json() for url in mine[ada["id"]]]

    await delete(client, alice, f"/v1/contacts/{grace['id']}")

    for url in mine[grace["id"]]:
        r = await client.get(url, headers=alice)
        assert r.status_code == 404, url
    for collection in ("/v1/interactions", "/v1/asks", "/v1/etiquette-tasks"):
        assert await all_pages(client, alice, collection, contact_id=grace["id"]) == []
    ada_after = [(await client.get(url, headers=alice)).json() for url in mine[ada["id"]]]
    assert ada_after == ada_before
    assert len(await tasks(client, alice)) == 4


# --- concurrency ---


async def test_concurrent_patches_completing_one_meeting_make_exactly_one_thank_you_note(
    client, alice, grace
):
    meeting = await create_interaction(
        client, alice, grace, status="planned", occurred_at=at(-timedelta(hours=2)),
        objective="Hiring",
    )  # fmt: skip
    url = f"/v1/interactions/{meeting['id']}"
    responses = await asyncio.gather(
        *(client.patch(url, json={"status": "completed"}, headers=alice) for _ in range(8))
    )
    assert [r.status_code for r in responses] == [200] * 8
    [task] = await tasks(client, alice)
    assert task["kind"] == "thank_you_note" and task["status"] == "pending"


async def test_concurrent_fulfils_of_one_ask_make_exactly_one_thank_you_note(client, alice, grace):
    ask = await create_ask(client, alice, grace, status="accepted")
    url = f"/v1/asks/{ask['id']}"
    responses = await asyncio.gather(
        *(client.patch(url, json={"status": "fulfilled"}, headers=alice) for _ in range(8))
    )
    assert [r.status_code for r in responses] == [200] * 8
    [task] = await tasks(client, alice)
    assert task["kind"] == "thank_you_note" and task["ask_id"] == ask["id"]


# --- property: random sequences of writes keep the rules' invariants ---

CHANNELS = ["in_person", "video", "phone", "letter", "email", "message", "online"]
KINDS = ["meeting", "informational_interview", "check_in", "event", "introduction", "other"]
INTERACTION_STATUSES = ["planned", "completed", "cancelled"]
ASK_STATUSES = ["open", "accepted", "declined", "fulfilled", "withdrawn"]
# Hours from the start of the example: well clear of every rule's boundary (48 h, 72 h, 24 h),
# so whether "or now" applies never depends on how long the example takes.
OFFSETS_H = [-9600, -720, -48, -3, 12, 36, 60, 100, 720, 9600]

# The contract, restated independently of app/etiquette/rules.py.
THANKED_CHANNELS = {"in_person", "video", "phone"}
THANKED_KINDS = {"meeting", "informational_interview", "event"}
MEETING_KINDS = {"meeting", "informational_interview"}
RESOLVED = {"fulfilled", "declined", "withdrawn"}
ASK_MOVES = {
    "open": {"open", "accepted", *RESOLVED},
    "accepted": {"accepted", *RESOLVED},
    "fulfilled": {"fulfilled", "open"},
    "declined": {"declined", "open"},
    "withdrawn": {"withdrawn", "open"},
}


def wanted(record: dict) -> dict[str, tuple[datetime, bool]]:
    """Task kind → (contract due date, whether "or now, if sooner" applies) for a live record."""
    out: dict[str, tuple[datetime, bool]] = {}
    if "direction" in record:  # an ask
        if record["direction"] == "outgoing" and record["status"] == "fulfilled":
            out["thank_you_note"] = (parse(record["resolved_at"]) + H48, False)
        return out
    occurred = parse(record["occurred_at"])
    status, kind = record["status"], record["kind"]
    if status == "completed" and (record["channel"] in THANKED_CHANNELS or kind in THANKED_KINDS):
        out["thank_you_note"] = (occurred + H48, False)
    if status == "planned" and kind in MEETING_KINDS:
        if record["time_proposed_by"] == "me":
            out["confirm_meeting_time"] = (occurred - H72, True)
        if not record["objective"]:
            out["set_objective"] = (occurred - H24, True)
    return out


# Weighted towards the records the rules care about (planned meetings I proposed, completed
# calls, outgoing asks), so most sequences hold pending tasks for the later steps to disturb.
interaction_fields = {
    "channel": st.sampled_from(["in_person", "video", "phone", *CHANNELS]),
    "kind": st.sampled_from(["meeting", "informational_interview", *KINDS]),
    "status": st.sampled_from(["planned", "completed", *INTERACTION_STATUSES]),
    "occurred_at": st.sampled_from(OFFSETS_H),
    "objective": st.sampled_from([None, "", "Learn how her team hires"]),
    "time_proposed_by": st.sampled_from(["me", None, "me", "contact"]),
}
create_interaction_step = st.tuples(
    st.just("create_interaction"), st.fixed_dictionaries(interaction_fields)
)
one_change = st.sampled_from(sorted(interaction_fields)).flatmap(
    lambda name: interaction_fields[name].map(lambda value: {name: value})
)
some_changes = st.fixed_dictionaries(
    {}, optional={**interaction_fields, "summary": st.sampled_from(["Notes", None])}
)
patch_interaction_step = st.tuples(
    st.just("patch_interaction"), st.integers(0, 20), st.one_of(one_change, some_changes)
)
create_ask_step = st.tuples(
    st.just("create_ask"),
    st.sampled_from(["outgoing", "outgoing", "incoming"]),
    st.sampled_from(ASK_STATUSES),
)
move_ask_step = st.tuples(st.just("move_ask"), st.integers(0, 20), st.integers(0, 20))
close_task_step = st.tuples(
    st.just("close_task"), st.integers(0, 20), st.sampled_from(["done", "dismissed"])
)
WEIGHTED_STEPS = [
    *[create_interaction_step] * 2,
    *[patch_interaction_step] * 5,
    st.tuples(st.just("delete_interaction"), st.integers(0, 20)),
    create_ask_step,
    *[move_ask_step] * 2,
    st.tuples(st.just("delete_ask"), st.integers(0, 20)),
    *[close_task_step] * 3,
    st.tuples(st.just("delete_task"), st.integers(0, 20)),
]
# A few records first, so that later steps have something to change.
sequences = st.builds(
    lambda setup, ask, rest: [*setup, ask, *rest],
    st.lists(create_interaction_step, min_size=1, max_size=2),
    create_ask_step,
    st.lists(st.sampled_from(WEIGHTED_STEPS).flatmap(lambda step: step), max_size=10),
)


class Reference:
    """What the API was told, and what the user did to tasks."""

    def __init__(self) -> None:
        self.live: dict[str, dict] = {}  # record id → latest representation
        self.closed: dict[str, dict] = {}  # task id → the task as the user left it
        self.deleted: set[tuple[str, str]] = set()  # (kind, record id) of deleted rule tasks

    def pick(self, kind: str, index: int) -> dict | None:
        records = [r for r in self.live.values() if ("direction" in r) == (kind == "ask")]
        return records[index % len(records)] if records else None


async def run_step(
    client: httpx.AsyncClient, h: dict[str, str], contact: dict, ref: Reference, step, start
) -> None:
    op = step[0]
    if op == "create_interaction":
        fields = {**step[1], "occurred_at": start + timedelta(hours=step[1]["occurred_at"])}
        record = await create_interaction(client, h, contact, **fields)
        ref.live[record["id"]] = record
    elif op == "patch_interaction":
        record = ref.pick("interaction", step[1])
        if record is None:
            return
        changes = dict(step[2])
        if "occurred_at" in changes:
            changes["occurred_at"] = start + timedelta(hours=changes["occurred_at"])
        ref.live[record["id"]] = await patch_interaction(client, h, record, **changes)
    elif op in ("delete_interaction", "delete_ask"):
        record = ref.pick(op.removeprefix("delete_"), step[1])
        if record is None:
            return
        collection = "asks" if op == "delete_ask" else "interactions"
        await delete(client, h, f"/v1/{collection}/{record['id']}")
        del ref.live[record["id"]]
    elif op == "create_ask":
        record = await create_ask(client, h, contact, direction=step[1], status=step[2])
        assert (record["resolved_at"] is None) == (step[2] not in RESOLVED)
        ref.live[record["id"]] = record
    elif op == "move_ask":
        record = ref.pick("ask", step[1])
        if record is None:
            return
        moves = sorted(ASK_MOVES[record["status"]])
        status = moves[step[2] % len(moves)]
        ref.live[record["id"]] = await patch_ask(client, h, record, status=status)
    elif op in ("close_task", "delete_task"):
        current = await tasks(client, h)
        # Pending ones half the time: those are what later writes would otherwise move or close.
        pending = [t for t in current if t["status"] == "pending"]
        candidates = pending if pending and step[1] % 2 else current
        if not candidates:
            return
        task = candidates[step[1] % len(candidates)]
        if op == "close_task":
            ref.closed[task["id"]] = await patch_task(client, h, task, status=step[2])
        else:
            await delete(client, h, f"/v1/etiquette-tasks/{task['id']}")
            ref.closed.pop(task["id"], None)
            ref.deleted.add((task["kind"], task["interaction_id"] or task["ask_id"]))


def check_invariants(
    ref: Reference, found: list[dict], contact: dict, start: datetime, checked_at: datetime
) -> None:
    by_key: dict[tuple[str, str], dict] = {}
    for task in found:
        assert task["source"] == "rule" and task["contact_id"] == contact["id"]
        assert (task["interaction_id"] is None) != (task["ask_id"] is None), task
        key = (task["kind"], task["interaction_id"] or task["ask_id"])
        # (a) at most one task per (rule, record)
        assert key not in by_key, (key, by_key.get(key), task)
        # a deleted task is never re-created
        assert key not in ref.deleted, task
        by_key[key] = task

    # (b) a task the user closed stays exactly as the user left it
    for task_id, closed in ref.closed.items():
        assert [t for t in found if t["id"] == task_id] == [closed]

    for key, task in by_key.items():
        if task["status"] != "pending":
            continue
        # (c) a pending task's cause holds now, and its due date is the contract's
        record = ref.live.get(key[1])
        assert record is not None, ("pending task of a deleted record", task)
        assert key[0] in wanted(record), ("pending task without its cause", task, record)
        due, floored_to_now = wanted(record)[key[0]]
        actual = parse(task["due_at"])
        if floored_to_now and due < start:
            # Already past when written: due "now", some time during this example.
            assert start <= actual <= checked_at, (task, record)
        else:
            assert actual == due, (task, record)
        assert contact["full_name"] in task["title"]

    # (d) a live record whose cause holds has one pending task, unless the user closed or
    # deleted it
    for record in ref.live.values():
        for kind in wanted(record):
            key = (kind, record["id"])
            if key in ref.deleted:
                continue
            task = by_key.get(key)
            assert task is not None, ("missing task", key, record)
            if task["id"] not in ref.closed:
                assert task["status"] == "pending", (task, record)

    # a task no longer wanted, and not closed by the user, was dismissed by the rule
    for key, task in by_key.items():
        record = ref.live.get(key[1])
        if task["id"] not in ref.closed and (record is None or key[0] not in wanted(record)):
            assert task["status"] == "dismissed" and task["completed_at"] is None, task


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(sequences)
async def test_random_sequences_of_writes_keep_the_rule_invariants(client, sequence):
    h = await sign_up(client)  # a fresh user per example: the database outlives examples
    contact = await create_contact(client, h, "Katherine Johnson")
    ref = Reference()
    start = datetime.now(UTC).replace(microsecond=0)
    for step in sequence:
        await run_step(client, h, contact, ref, step, start)
        checked_at = datetime.now(UTC)
        check_invariants(ref, await tasks(client, h), contact, start, checked_at)
