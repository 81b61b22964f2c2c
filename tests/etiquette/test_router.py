"""Etiquette tasks over HTTP: CRUD, ownership, validation, conditional requests, lists.

The rules that create tasks on their own are tested in test_rules.py; here a rule-made task
appears only where the HTTP contract needs one (closing it by PATCH).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import partial

import httpx
import pytest

from tests import lists
from tests.conftest import UNKNOWN_ID
from tests.contacts.test_router import assert_problem, create
from tests.interactions.test_router import create_interaction

URL = "/v1/etiquette-tasks"
walk = partial(lists.walk, url=URL)
listed_ids = partial(lists.listed_ids, url=URL)


async def create_task(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    contact_id: str | None = None,
    **fields: object,
) -> dict:
    """Create a task by hand; without `contact_id`, for a new contact."""
    if contact_id is None:
        contact_id = (await create(client, headers))["id"]
    body = {"contact_id": contact_id, "title": "Send the article", **fields}
    r = await client.post(URL, json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def fields_named(problem: dict) -> list[str]:
    return [e["field"] for e in problem["errors"]]


def parse_utc(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text)


# --- anonymous callers ---


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", URL),
        ("POST", URL),
        ("GET", f"{URL}/{UNKNOWN_ID}"),
        ("PATCH", f"{URL}/{UNKNOWN_ID}"),
        ("DELETE", f"{URL}/{UNKNOWN_ID}"),
    ],
)
async def test_anonymous_request_is_401_with_bearer_challenge(client, method, path):
    body = {"title": "x"} if method in {"POST", "PATCH"} else None
    r = await client.request(method, path, json=body)
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")


# --- create and read ---


async def test_create_returns_201_with_location_etag_and_every_field(client, alice):
    contact = await create(client, alice)
    body = {
        "contact_id": contact["id"],
        "kind": "custom",
        "title": "Send Grace the article on register allocation",
        "due_at": "2026-12-05T14:00:00+02:00",
    }
    r = await client.post(URL, json=body, headers=alice)
    assert r.status_code == 201, r.text
    created = r.json()
    assert r.headers["location"] == f"{URL}/{created['id']}"
    assert r.headers["etag"] == '"1"'
    assert created["contact_id"] == contact["id"]
    assert created["kind"] == "custom"
    assert created["title"] == body["title"]
    assert created["due_at"] == "2026-12-05T12:00:00Z"
    assert created["version"] == 1
    assert created["created_at"].endswith("Z") and created["updated_at"] == created["created_at"]
    uuid.UUID(created["id"])

    r = await client.get(r.headers["location"], headers=alice)
    assert r.status_code == 200
    assert r.headers["etag"] == '"1"'
    assert r.json() == created


async def test_defaults_are_custom_pending_manual_with_no_references(client, alice):
    created = await create_task(client, alice)
    assert created["kind"] == "custom"
    assert created["status"] == "pending"
    assert created["source"] == "manual"
    assert created["completed_at"] is None
    assert created["due_at"] is None
    assert created["interaction_id"] is None and created["ask_id"] is None


@pytest.mark.parametrize("kind", ["thank_you_note", "reconnect", "offer_help"])
async def test_a_task_of_any_kind_can_be_made_by_hand_and_is_manual(client, alice, kind):
    created = await create_task(client, alice, kind=kind, title="Write to Grace")
    assert created["kind"] == kind
    assert created["source"] == "manual"
    assert created["interaction_id"] is None and created["ask_id"] is None


async def test_title_is_trimmed(client, alice):
    assert (await create_task(client, alice, title="  Call Ada  "))["title"] == "Call Ada"


# --- ownership ---


async def test_another_users_task_is_404_everywhere_and_unchanged(client, alice, bob):
    task = await create_task(client, alice)
    url = f"{URL}/{task['id']}"
    assert_problem(await client.get(url, headers=bob), 404)
    assert_problem(await client.patch(url, json={"status": "done"}, headers=bob), 404)
    assert_problem(await client.delete(url, headers=bob), 404)
    assert await listed_ids(client, bob) == []
    r = await client.get(url, headers=alice)
    assert r.status_code == 200 and r.json() == task


async def test_missing_task_is_404_same_as_foreign(client, alice):
    body = assert_problem(await client.get(f"{URL}/{uuid.uuid4()}", headers=alice), 404)
    assert body["detail"] == "No etiquette task with this id."


async def test_malformed_id_is_422(client, alice):
    assert_problem(await client.get(f"{URL}/not-a-uuid", headers=alice), 422)


# --- the contact it belongs to ---


async def test_contact_id_of_nobody_is_422_and_writes_nothing(client, alice):
    r = await client.post(
        URL, json={"contact_id": str(uuid.uuid4()), "title": "Call"}, headers=alice
    )
    assert fields_named(assert_problem(r, 422)) == ["body.contact_id"]
    assert await listed_ids(client, alice) == []


async def test_contact_id_of_a_deleted_contact_is_422_and_writes_nothing(client, alice):
    contact = await create(client, alice)
    assert (await client.delete(f"/v1/contacts/{contact['id']}", headers=alice)).status_code == 204
    r = await client.post(URL, json={"contact_id": contact["id"], "title": "Call"}, headers=alice)
    assert fields_named(assert_problem(r, 422)) == ["body.contact_id"]
    assert await listed_ids(client, alice) == []


async def test_contact_id_of_another_users_contact_is_422_and_writes_nothing(client, alice, bob):
    theirs = await create(client, bob)
    r = await client.post(URL, json={"contact_id": theirs["id"], "title": "Call"}, headers=alice)
    assert fields_named(assert_problem(r, 422)) == ["body.contact_id"]
    assert await listed_ids(client, alice) == []
    assert await listed_ids(client, bob) == []


async def test_deleting_the_contact_deletes_its_tasks(client, alice):
    task = await create_task(client, alice)
    await client.delete(f"/v1/contacts/{task['contact_id']}", headers=alice)
    assert_problem(await client.get(f"{URL}/{task['id']}", headers=alice), 404)
    assert await listed_ids(client, alice) == []


# --- validation ---

# Stands for the id of a contact the test creates.
CONTACT = "<contact>"
_VALID = {"contact_id": CONTACT, "title": "Call"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "Call"}, "body.contact_id"),
        ({"contact_id": CONTACT}, "body.title"),
        ({**_VALID, "contact_id": "not-a-uuid"}, "body.contact_id"),
        ({**_VALID, "title": ""}, "body.title"),
        ({**_VALID, "title": "   "}, "body.title"),
        ({**_VALID, "title": "t" * 201}, "body.title"),
        ({**_VALID, "title": "a\x00b"}, "body.title"),
        ({**_VALID, "title": 42}, "body.title"),
        ({**_VALID, "kind": "birthday"}, "body.kind"),
        ({**_VALID, "kind": "Custom"}, "body.kind"),
        ({**_VALID, "due_at": "2026-12-05T12:00:00"}, "body.due_at"),
        ({**_VALID, "due_at": 1767225600}, "body.due_at"),
        ({**_VALID, "due_at": "tomorrow"}, "body.due_at"),
        ({**_VALID, "due_at": "1900-01-01T00:30:00+01:00"}, "body.due_at"),
        ({**_VALID, "due_at": "9999-12-31T23:30:00-01:00"}, "body.due_at"),
        ({**_VALID, "id": str(uuid.uuid4())}, "body.id"),
        ({**_VALID, "version": 2}, "body.version"),
        ({**_VALID, "created_at": "2026-01-01T00:00:00Z"}, "body.created_at"),
        ({**_VALID, "owner_id": str(uuid.uuid4())}, "body.owner_id"),
        ({**_VALID, "status": "done"}, "body.status"),
        ({**_VALID, "source": "rule"}, "body.source"),
        ({**_VALID, "completed_at": "2026-01-01T00:00:00Z"}, "body.completed_at"),
        ({**_VALID, "resolved_at": "2026-01-01T00:00:00Z"}, "body.resolved_at"),
        ({**_VALID, "interaction_id": str(uuid.uuid4())}, "body.interaction_id"),
        ({**_VALID, "ask_id": str(uuid.uuid4())}, "body.ask_id"),
    ],
)
async def test_invalid_create_is_422_naming_the_field_and_creates_nothing(
    client, alice, body, field
):
    contact = await create(client, alice)
    body = {k: contact["id"] if v == CONTACT else v for k, v in body.items()}
    r = await client.post(URL, json=body, headers=alice)
    assert field in fields_named(assert_problem(r, 422)), r.text
    assert await listed_ids(client, alice) == []


async def test_title_of_200_characters_is_accepted(client, alice):
    assert len((await create_task(client, alice, title="t" * 200))["title"]) == 200


async def test_non_json_content_type_is_415_and_creates_nothing(client, alice):
    r = await client.post(URL, content=b"{}", headers={**alice, "Content-Type": "text/plain"})
    assert_problem(r, 415)
    assert await listed_ids(client, alice) == []


# --- conditional requests ---


async def test_if_none_match_current_etag_is_304_without_body(client, alice):
    task = await create_task(client, alice)
    r = await client.get(f"{URL}/{task['id']}", headers={**alice, "If-None-Match": '"1"'})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == '"1"'


async def test_if_none_match_stale_etag_returns_the_record(client, alice):
    task = await create_task(client, alice)
    url = f"{URL}/{task['id']}"
    await client.patch(url, json={"title": "Call Grace"}, headers=alice)
    r = await client.get(url, headers={**alice, "If-None-Match": '"1"'})
    assert r.status_code == 200
    assert r.headers["etag"] == '"2"' and r.json()["title"] == "Call Grace"


async def test_patch_with_stale_if_match_is_412_and_changes_nothing(client, alice):
    task = await create_task(client, alice)
    url = f"{URL}/{task['id']}"
    assert (await client.patch(url, json={"title": "v2"}, headers=alice)).status_code == 200
    r = await client.patch(url, json={"status": "done"}, headers={**alice, "If-Match": '"1"'})
    assert_problem(r, 412)
    current = (await client.get(url, headers=alice)).json()
    assert current["title"] == "v2" and current["version"] == 2
    assert current["status"] == "pending" and current["completed_at"] is None


async def test_patch_with_current_if_match_succeeds(client, alice):
    task = await create_task(client, alice)
    url = f"{URL}/{task['id']}"
    r = await client.patch(url, json={"title": "ok"}, headers={**alice, "If-Match": '"1"'})
    assert r.status_code == 200
    assert r.headers["etag"] == '"2"'


async def test_delete_with_stale_if_match_is_412_and_keeps_the_record(client, alice):
    task = await create_task(client, alice)
    url = f"{URL}/{task['id']}"
    assert_problem(await client.delete(url, headers={**alice, "If-Match": '"9"'}), 412)
    r = await client.get(url, headers=alice)
    assert r.status_code == 200 and r.json() == task
    assert (await client.delete(url, headers={**alice, "If-Match": '"1"'})).status_code == 204


# --- merge patch ---


async def test_merge_patch_absent_unchanged_null_clears_due_at(client, alice):
    task = await create_task(client, alice, kind="reconnect", due_at="2026-05-01T09:00:00Z")
    url = f"{URL}/{task['id']}"
    r = await client.patch(url, json={"due_at": None}, headers=alice)
    assert r.status_code == 200, r.text
    patched = r.json()
    assert patched["due_at"] is None
    for name in ("contact_id", "kind", "title", "status", "source", "created_at"):
        assert patched[name] == task[name], name
    assert patched["version"] == 2
    assert patched["updated_at"] >= task["updated_at"]
    assert (await client.get(url, headers=alice)).json() == patched


async def test_patch_sets_title_and_due_at_in_utc(client, alice):
    task = await create_task(client, alice)
    r = await client.patch(
        f"{URL}/{task['id']}",
        json={"title": "Call Ada", "due_at": "2026-05-01T09:00:00-04:00"},
        headers=alice,
    )
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "Call Ada"
    assert r.json()["due_at"] == "2026-05-01T13:00:00Z"


@pytest.mark.parametrize("content_type", ["application/json", "application/merge-patch+json"])
async def test_both_json_media_types_are_accepted_for_patch(client, alice, content_type):
    task = await create_task(client, alice)
    r = await client.patch(
        f"{URL}/{task['id']}",
        content=b'{"title": "Call Ada"}',
        headers={**alice, "Content-Type": content_type},
    )
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "Call Ada"


async def test_patch_as_text_plain_is_415_and_changes_nothing(client, alice):
    task = await create_task(client, alice)
    url = f"{URL}/{task['id']}"
    r = await client.patch(
        url, content=b'{"status": "done"}', headers={**alice, "Content-Type": "text/plain"}
    )
    assert_problem(r, 415)
    assert (await client.get(url, headers=alice)).json() == task


async def test_patch_null_title_is_422_and_changes_nothing(client, alice):
    task = await create_task(client, alice)
    url = f"{URL}/{task['id']}"
    r = await client.patch(url, json={"title": None}, headers=alice)
    assert fields_named(assert_problem(r, 422)) == ["body.title"]
    assert (await client.get(url, headers=alice)).json() == task


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"contact_id": "__other__"}, "body.contact_id"),
        ({"contact_id": None}, "body.contact_id"),
        ({"id": str(uuid.uuid4())}, "body.id"),
        ({"version": 99}, "body.version"),
        ({"created_at": "2020-01-01T00:00:00Z"}, "body.created_at"),
        ({"source": "rule"}, "body.source"),
        ({"completed_at": "2026-01-01T00:00:00Z"}, "body.completed_at"),
        ({"interaction_id": str(uuid.uuid4())}, "body.interaction_id"),
        ({"ask_id": str(uuid.uuid4())}, "body.ask_id"),
        ({"status": "finished"}, "body.status"),
        ({"title": ""}, "body.title"),
        ({"title": "t" * 201}, "body.title"),
        ({"title": "\x00"}, "body.title"),
        ({"due_at": "2026-05-01T09:00:00"}, "body.due_at"),
    ],
)
async def test_invalid_or_server_owned_patch_is_422_and_changes_nothing(
    client, alice, patch, field
):
    task = await create_task(client, alice)
    if patch.get("contact_id") == "__other__":
        patch = {"contact_id": (await create(client, alice, full_name="Other"))["id"]}
    url = f"{URL}/{task['id']}"
    r = await client.patch(url, json=patch, headers=alice)
    assert field in fields_named(assert_problem(r, 422)), r.text
    assert (await client.get(url, headers=alice)).json() == task


async def test_empty_patch_changes_nothing(client, alice):
    task = await create_task(client, alice)
    r = await client.patch(f"{URL}/{task['id']}", json={}, headers=alice)
    assert r.status_code == 200
    assert r.headers["etag"] == '"1"'
    assert r.json() == task


async def test_version_grows_by_one_per_change(client, alice):
    task = await create_task(client, alice)
    url = f"{URL}/{task['id']}"
    for expected, title in enumerate(["a", "b", "c"], start=2):
        r = await client.patch(url, json={"title": title}, headers=alice)
        assert r.json()["version"] == expected
        assert r.headers["etag"] == f'"{expected}"'


# --- closing and reopening ---


async def test_done_sets_completed_at_to_now_in_utc(client, alice):
    task = await create_task(client, alice)
    before = datetime.now(UTC)
    r = await client.patch(f"{URL}/{task['id']}", json={"status": "done"}, headers=alice)
    after = datetime.now(UTC)
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "done" and done["version"] == 2
    assert before <= parse_utc(done["completed_at"]) <= after
    assert (await client.get(f"{URL}/{task['id']}", headers=alice)).json() == done


async def test_back_to_pending_clears_completed_at(client, alice):
    task = await create_task(client, alice)
    url = f"{URL}/{task['id']}"
    await client.patch(url, json={"status": "done"}, headers=alice)
    r = await client.patch(url, json={"status": "pending"}, headers=alice)
    assert r.status_code == 200
    assert r.json()["status"] == "pending" and r.json()["completed_at"] is None
    assert r.json()["version"] == 3


async def test_dismissed_leaves_completed_at_null(client, alice):
    task = await create_task(client, alice)
    r = await client.patch(f"{URL}/{task['id']}", json={"status": "dismissed"}, headers=alice)
    assert r.status_code == 200
    assert r.json()["status"] == "dismissed" and r.json()["completed_at"] is None


async def test_done_then_dismissed_clears_completed_at(client, alice):
    task = await create_task(client, alice)
    url = f"{URL}/{task['id']}"
    await client.patch(url, json={"status": "done"}, headers=alice)
    r = await client.patch(url, json={"status": "dismissed"}, headers=alice)
    assert r.json()["status"] == "dismissed" and r.json()["completed_at"] is None


async def test_editing_a_done_task_keeps_its_completed_at(client, alice):
    task = await create_task(client, alice)
    url = f"{URL}/{task['id']}"
    done = (await client.patch(url, json={"status": "done"}, headers=alice)).json()
    r = await client.patch(url, json={"title": "Sent it", "status": "done"}, headers=alice)
    assert r.json()["completed_at"] == done["completed_at"]
    assert r.json()["title"] == "Sent it"


async def test_a_rule_made_task_can_be_marked_done_and_keeps_its_origin(client, alice):
    interaction = await create_interaction(client, alice, channel="in_person")
    tasks = (await client.get(URL, headers=alice)).json()["items"]
    assert [(t["kind"], t["source"]) for t in tasks] == [("thank_you_note", "rule")]
    task = tasks[0]
    assert task["interaction_id"] == interaction["id"]
    r = await client.patch(
        f"{URL}/{task['id']}", json={"status": "done"}, headers={**alice, "If-Match": '"1"'}
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "done" and done["completed_at"] is not None
    assert done["source"] == "rule" and done["interaction_id"] == interaction["id"]
    assert done["kind"] == "thank_you_note" and done["version"] == 2


# --- delete ---


async def test_delete_then_gone_from_reads_and_second_delete_is_404(client, alice):
    task = await create_task(client, alice)
    kept = await create_task(client, alice, contact_id=task["contact_id"])
    url = f"{URL}/{task['id']}"
    r = await client.delete(url, headers=alice)
    assert r.status_code == 204 and r.content == b""
    assert_problem(await client.get(url, headers=alice), 404)
    assert_problem(await client.patch(url, json={"title": "x"}, headers=alice), 404)
    assert_problem(await client.delete(url, headers=alice), 404)
    assert await listed_ids(client, alice) == [kept["id"]]


# --- methods ---


async def test_unsupported_method_is_405_with_allow(client, alice):
    r = await client.put(URL, json={}, headers=alice)
    assert_problem(r, 405)
    assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "POST"}
    r = await client.post(f"{URL}/{uuid.uuid4()}", json={}, headers=alice)
    assert_problem(r, 405)
    assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "PATCH", "DELETE"}


# --- idempotency ---


async def test_idempotency_key_replays_the_first_201_and_creates_one(client, alice):
    contact = await create(client, alice)
    body = {"contact_id": contact["id"], "title": "Send the article"}
    headers = {**alice, "Idempotency-Key": "task-1"}
    first = await client.post(URL, json=body, headers=headers)
    assert first.status_code == 201
    again = await client.post(URL, json=body, headers=headers)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert await listed_ids(client, alice) == [first.json()["id"]]


async def test_a_create_rejected_by_validation_does_not_use_up_its_idempotency_key(client, alice):
    contact = await create(client, alice)
    headers = {**alice, "Idempotency-Key": "task-3"}
    body = {"contact_id": contact["id"], "title": ""}
    assert_problem(await client.post(URL, json=body, headers=headers), 422)
    r = await client.post(URL, json={**body, "title": "Call"}, headers=headers)
    assert r.status_code == 201, r.text
    assert "idempotent-replayed" not in r.headers


async def test_idempotency_key_with_another_body_is_422(client, alice):
    contact = await create(client, alice)
    headers = {**alice, "Idempotency-Key": "task-2"}
    body = {"contact_id": contact["id"], "title": "Send the article"}
    assert (await client.post(URL, json=body, headers=headers)).status_code == 201
    r = await client.post(URL, json={**body, "title": "Another"}, headers=headers)
    assert_problem(r, 422)
    assert len(await listed_ids(client, alice)) == 1


# --- list filters ---


async def test_filter_by_contact_id(client, alice):
    grace = await create(client, alice)
    ada = await create(client, alice, full_name="Ada Lovelace")
    mine = [await create_task(client, alice, grace["id"]) for _ in range(2)]
    await create_task(client, alice, ada["id"])
    assert await listed_ids(client, alice, contact_id=grace["id"]) == [t["id"] for t in mine]
    assert await listed_ids(client, alice, contact_id=str(uuid.uuid4())) == []


async def test_filter_by_status_and_kind_combine_with_and(client, alice):
    cid = (await create(client, alice))["id"]
    note = await create_task(client, alice, cid, kind="thank_you_note")
    note_done = await create_task(client, alice, cid, kind="thank_you_note")
    custom = await create_task(client, alice, cid)
    dismissed = await create_task(client, alice, cid)
    await client.patch(f"{URL}/{note_done['id']}", json={"status": "done"}, headers=alice)
    await client.patch(f"{URL}/{dismissed['id']}", json={"status": "dismissed"}, headers=alice)
    assert await listed_ids(client, alice, kind="thank_you_note") == [note["id"], note_done["id"]]
    assert await listed_ids(client, alice, status="pending") == [note["id"], custom["id"]]
    assert await listed_ids(client, alice, status="done") == [note_done["id"]]
    assert await listed_ids(client, alice, status="dismissed") == [dismissed["id"]]
    assert await listed_ids(client, alice, kind="custom", status="pending") == [custom["id"]]
    assert await listed_ids(client, alice, kind="offer_help") == []


async def test_due_before_is_exclusive_and_skips_tasks_without_due_at(client, alice):
    cid = (await create(client, alice))["id"]
    early = await create_task(client, alice, cid, due_at="2026-05-01T09:00:00Z")
    on_time = await create_task(client, alice, cid, due_at="2026-05-01T10:00:00Z")
    await create_task(client, alice, cid)  # no due date: never "due before"
    assert await listed_ids(client, alice, due_before="2026-05-01T10:00:00Z") == [early["id"]]
    assert await listed_ids(client, alice, due_before="2026-05-01T12:00:00+02:00") == [early["id"]]
    later = await listed_ids(client, alice, due_before="2026-05-01T10:00:01Z")
    assert later == [early["id"], on_time["id"]]
    assert await listed_ids(client, alice, due_before="2026-05-01T09:00:00Z") == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"contact_id": "nope"}, "query.contact_id"),
        ({"status": "open"}, "query.status"),
        ({"kind": "birthday"}, "query.kind"),
        ({"due_before": "2026-05-01T10:00:00"}, "query.due_before"),
        ({"due_before": "soon"}, "query.due_before"),
        ({"due_before": "9999-12-31T23:30:00-01:00"}, "query.due_before"),
        ({"limit": 0}, "query.limit"),
        ({"limit": 201}, "query.limit"),
    ],
)
async def test_invalid_filter_is_422_naming_it(client, alice, params, field):
    r = await client.get(URL, params=params, headers=alice)
    assert field in fields_named(assert_problem(r, 422))


# --- pagination ---


async def test_pages_cover_every_task_once_and_last_cursor_is_null(client, alice):
    cid = (await create(client, alice))["id"]
    ids = [(await create_task(client, alice, cid, title=f"T{n}"))["id"] for n in range(5)]
    first = (await client.get(URL, params={"limit": 2}, headers=alice)).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    assert [t["id"] for t in await walk(client, alice, limit=2)] == ids
    assert (await client.get(URL, params={"limit": 5}, headers=alice)).json()["next_cursor"] is None


async def test_pages_respect_filters(client, alice):
    cid = (await create(client, alice))["id"]
    notes = []
    for _ in range(3):
        notes.append((await create_task(client, alice, cid, kind="thank_you_note"))["id"])
        await create_task(client, alice, cid)
    seen = await walk(client, alice, limit=1, kind="thank_you_note")
    assert [t["id"] for t in seen] == notes


async def test_tampered_cursor_is_400(client, alice):
    cid = (await create(client, alice))["id"]
    for _ in range(2):
        await create_task(client, alice, cid)
    cursor = (await client.get(URL, params={"limit": 1}, headers=alice)).json()["next_cursor"]
    for bad in [cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB"), "garbage", "a.b.c"]:
        r = await client.get(URL, params={"cursor": bad, "limit": 1}, headers=alice)
        assert_problem(r, 400)


@pytest.mark.parametrize("other_list", ["/v1/contacts", "/v1/interactions"])
async def test_cursor_from_another_list_is_400(client, alice, other_list):
    for n in range(2):
        contact = await create(client, alice, full_name=f"P{n}")
        await create_interaction(client, alice, contact["id"])
        await create_task(client, alice, contact["id"])
    cursor = (await client.get(other_list, params={"limit": 1}, headers=alice)).json()
    assert cursor["next_cursor"]
    r = await client.get(URL, params={"cursor": cursor["next_cursor"], "limit": 1}, headers=alice)
    assert_problem(r, 400)


async def test_cursor_from_other_filters_is_400(client, alice):
    cid = (await create(client, alice))["id"]
    for _ in range(2):
        await create_task(client, alice, cid)
    cursor = (await client.get(URL, params={"limit": 1}, headers=alice)).json()["next_cursor"]
    r = await client.get(
        URL, params={"cursor": cursor, "limit": 1, "status": "pending"}, headers=alice
    )
    assert_problem(r, 400)
