"""Interactions over HTTP: CRUD, ownership, validation, conditional requests, lists."""

from __future__ import annotations

import uuid
from functools import partial

import httpx
import pytest

from tests import lists
from tests.conftest import UNKNOWN_ID
from tests.contacts.test_router import assert_problem, create

URL = "/v1/interactions"
walk = partial(lists.walk, url=URL)
listed_ids = partial(lists.listed_ids, url=URL)


async def create_interaction(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    contact_id: str | None = None,
    **fields: object,
) -> dict:
    """Log an interaction (an email, so no etiquette rule fires unless `fields` say so).

    Without `contact_id`, a new contact is created for it.
    """
    if contact_id is None:
        contact_id = (await create(client, headers))["id"]
    body = {
        "contact_id": contact_id,
        "channel": "email",
        "occurred_at": "2026-03-01T10:00:00Z",
        **fields,
    }
    r = await client.post(URL, json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def fields_named(problem: dict) -> list[str]:
    return [e["field"] for e in problem["errors"]]


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
    body = {"channel": "email"} if method in {"POST", "PATCH"} else None
    r = await client.request(method, path, json=body)
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")


# --- create and read ---


async def test_create_returns_201_with_location_etag_and_every_field(client, alice):
    contact = await create(client, alice)
    body = {
        "contact_id": contact["id"],
        "channel": "video",
        "kind": "informational_interview",
        "status": "planned",
        "occurred_at": "2026-12-03T17:00:00+02:00",
        "objective": "Learn how her team hires junior compiler engineers.",
        "summary": "Prepared three questions.",
        "time_proposed_by": "contact",
    }
    r = await client.post(URL, json=body, headers=alice)
    assert r.status_code == 201, r.text
    created = r.json()
    assert r.headers["location"] == f"{URL}/{created['id']}"
    assert r.headers["etag"] == '"1"'
    for name, value in body.items():
        if name != "occurred_at":
            assert created[name] == value, name
    assert created["occurred_at"] == "2026-12-03T15:00:00Z"
    assert created["version"] == 1
    assert created["created_at"].endswith("Z") and created["updated_at"] == created["created_at"]
    uuid.UUID(created["id"])

    r = await client.get(r.headers["location"], headers=alice)
    assert r.status_code == 200
    assert r.headers["etag"] == '"1"'
    assert r.json() == created


async def test_defaults_are_kind_other_status_completed_and_no_optional_text(client, alice):
    created = await create_interaction(client, alice)
    assert created["kind"] == "other"
    assert created["status"] == "completed"
    assert created["objective"] is None and created["summary"] is None
    assert created["time_proposed_by"] is None


async def test_strings_are_trimmed(client, alice):
    created = await create_interaction(client, alice, objective="  Ask about hiring  ")
    assert created["objective"] == "Ask about hiring"


# --- ownership ---


async def test_another_users_interaction_is_404_everywhere_and_unchanged(client, alice, bob):
    interaction = await create_interaction(client, alice, summary="mine")
    url = f"{URL}/{interaction['id']}"
    assert_problem(await client.get(url, headers=bob), 404)
    assert_problem(await client.patch(url, json={"summary": "theirs"}, headers=bob), 404)
    assert_problem(await client.delete(url, headers=bob), 404)
    assert await listed_ids(client, bob) == []
    r = await client.get(url, headers=alice)
    assert r.status_code == 200 and r.json() == interaction


async def test_missing_interaction_is_404_same_as_foreign(client, alice):
    body = assert_problem(await client.get(f"{URL}/{uuid.uuid4()}", headers=alice), 404)
    assert body["detail"] == "No interaction with this id."


async def test_malformed_id_is_422(client, alice):
    assert_problem(await client.get(f"{URL}/not-a-uuid", headers=alice), 422)


# --- the contact it belongs to ---


async def test_contact_id_of_nobody_is_422_and_writes_nothing(client, alice):
    r = await client.post(
        URL,
        json={
            "contact_id": str(uuid.uuid4()),
            "channel": "email",
            "occurred_at": "2026-03-01T10:00Z",
        },
        headers=alice,
    )
    assert fields_named(assert_problem(r, 422)) == ["body.contact_id"]
    assert await listed_ids(client, alice) == []


async def test_contact_id_of_a_deleted_contact_is_422_and_writes_nothing(client, alice):
    contact = await create(client, alice)
    assert (await client.delete(f"/v1/contacts/{contact['id']}", headers=alice)).status_code == 204
    r = await client.post(
        URL,
        json={"contact_id": contact["id"], "channel": "email", "occurred_at": "2026-03-01T10:00Z"},
        headers=alice,
    )
    assert fields_named(assert_problem(r, 422)) == ["body.contact_id"]
    assert await listed_ids(client, alice) == []


async def test_contact_id_of_another_users_contact_is_422_and_writes_nothing(client, alice, bob):
    theirs = await create(client, bob)
    r = await client.post(
        URL,
        json={"contact_id": theirs["id"], "channel": "email", "occurred_at": "2026-03-01T10:00Z"},
        headers=alice,
    )
    assert fields_named(assert_problem(r, 422)) == ["body.contact_id"]
    assert await listed_ids(client, alice) == []
    assert await listed_ids(client, bob) == []


async def test_deleting_the_contact_deletes_its_interactions(client, alice):
    interaction = await create_interaction(client, alice)
    await client.delete(f"/v1/contacts/{interaction['contact_id']}", headers=alice)
    assert_problem(await client.get(f"{URL}/{interaction['id']}", headers=alice), 404)
    assert await listed_ids(client, alice) == []


# --- validation ---

# Stands for the id of a contact the test creates.
CONTACT = "<contact>"
_VALID = {"contact_id": CONTACT, "channel": "email", "occurred_at": "2026-03-01T10:00:00Z"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "email", "occurred_at": "2026-03-01T10:00:00Z"}, "body.contact_id"),
        ({"contact_id": CONTACT, "occurred_at": "2026-03-01T10:00:00Z"}, "body.channel"),
        ({"contact_id": CONTACT, "channel": "email"}, "body.occurred_at"),
        ({**_VALID, "channel": "telepathy"}, "body.channel"),
        ({**_VALID, "kind": "party"}, "body.kind"),
        ({**_VALID, "status": "done"}, "body.status"),
        ({**_VALID, "time_proposed_by": "them"}, "body.time_proposed_by"),
        ({**_VALID, "channel": "EMAIL"}, "body.channel"),
        ({**_VALID, "objective": "o" * 1001}, "body.objective"),
        ({**_VALID, "summary": "s" * 10_001}, "body.summary"),
        ({**_VALID, "objective": "a\x00b"}, "body.objective"),
        ({**_VALID, "summary": "a\x00b"}, "body.summary"),
        ({**_VALID, "occurred_at": "2026-03-01T10:00:00"}, "body.occurred_at"),
        ({**_VALID, "occurred_at": 1767225600}, "body.occurred_at"),
        ({**_VALID, "occurred_at": "yesterday"}, "body.occurred_at"),
        ({**_VALID, "occurred_at": "1899-12-31T23:59:59Z"}, "body.occurred_at"),
        # 1899 once in UTC; and past year 9999 once in UTC (was a 500: OverflowError).
        ({**_VALID, "occurred_at": "1900-01-01T00:30:00+01:00"}, "body.occurred_at"),
        ({**_VALID, "occurred_at": "9999-12-31T23:30:00-01:00"}, "body.occurred_at"),
        ({**_VALID, "id": str(uuid.uuid4())}, "body.id"),
        ({**_VALID, "version": 3}, "body.version"),
        ({**_VALID, "created_at": "2026-01-01T00:00:00Z"}, "body.created_at"),
        ({**_VALID, "owner_id": str(uuid.uuid4())}, "body.owner_id"),
        ({**_VALID, "resolved_at": "2026-01-01T00:00:00Z"}, "body.resolved_at"),
        ({**_VALID, "interaction_id": str(uuid.uuid4())}, "body.interaction_id"),
        ({**_VALID, "contact_id": "not-a-uuid"}, "body.contact_id"),
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


@pytest.mark.parametrize("when", ["9999-12-31T12:00:00Z", "3000-01-01T00:00:00Z"])
async def test_a_meeting_in_an_absurd_year_is_422_not_a_server_error(client, alice, when):
    # Rule 1 would derive a due date past year 9999; such years are refused up front.
    contact = await create(client, alice)
    body = {"contact_id": contact["id"], "channel": "in_person", "occurred_at": when}
    r = await client.post(URL, json=body, headers=alice)
    assert "body.occurred_at" in fields_named(assert_problem(r, 422))
    assert await listed_ids(client, alice) == []


async def test_a_meeting_in_year_2999_is_accepted_with_its_thank_you_due(client, alice):
    contact = await create(client, alice)
    body = {
        "contact_id": contact["id"],
        "channel": "in_person",
        "occurred_at": "2999-12-30T00:00:00Z",
    }
    r = await client.post(URL, json=body, headers=alice)
    assert r.status_code == 201, r.text


async def test_longest_allowed_strings_are_accepted(client, alice):
    created = await create_interaction(client, alice, objective="o" * 1000, summary="s" * 10_000)
    assert len(created["objective"]) == 1000 and len(created["summary"]) == 10_000


async def test_non_json_content_type_is_415_and_creates_nothing(client, alice):
    r = await client.post(URL, content=b"{}", headers={**alice, "Content-Type": "text/plain"})
    assert_problem(r, 415)
    assert await listed_ids(client, alice) == []


# --- conditional requests ---


async def test_if_none_match_current_etag_is_304_without_body(client, alice):
    interaction = await create_interaction(client, alice)
    r = await client.get(f"{URL}/{interaction['id']}", headers={**alice, "If-None-Match": '"1"'})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == '"1"'


async def test_if_none_match_stale_etag_returns_the_record(client, alice):
    interaction = await create_interaction(client, alice)
    url = f"{URL}/{interaction['id']}"
    await client.patch(url, json={"summary": "Went well."}, headers=alice)
    r = await client.get(url, headers={**alice, "If-None-Match": '"1"'})
    assert r.status_code == 200
    assert r.headers["etag"] == '"2"' and r.json()["summary"] == "Went well."


async def test_patch_with_stale_if_match_is_412_and_changes_nothing(client, alice):
    interaction = await create_interaction(client, alice)
    url = f"{URL}/{interaction['id']}"
    assert (await client.patch(url, json={"summary": "v2"}, headers=alice)).status_code == 200
    r = await client.patch(url, json={"summary": "v3"}, headers={**alice, "If-Match": '"1"'})
    assert_problem(r, 412)
    current = (await client.get(url, headers=alice)).json()
    assert current["summary"] == "v2" and current["version"] == 2


async def test_patch_with_current_if_match_succeeds(client, alice):
    interaction = await create_interaction(client, alice)
    url = f"{URL}/{interaction['id']}"
    r = await client.patch(url, json={"summary": "ok"}, headers={**alice, "If-Match": '"1"'})
    assert r.status_code == 200
    assert r.headers["etag"] == '"2"'


async def test_delete_with_stale_if_match_is_412_and_keeps_the_record(client, alice):
    interaction = await create_interaction(client, alice)
    url = f"{URL}/{interaction['id']}"
    assert_problem(await client.delete(url, headers={**alice, "If-Match": '"9"'}), 412)
    r = await client.get(url, headers=alice)
    assert r.status_code == 200 and r.json() == interaction
    assert (await client.delete(url, headers={**alice, "If-Match": '"1"'})).status_code == 204


# --- merge patch ---


async def test_merge_patch_absent_unchanged_null_clears_nullable_fields(client, alice):
    interaction = await create_interaction(
        client,
        alice,
        channel="phone",
        kind="meeting",
        status="planned",
        objective="Ask about the team",
        summary="Draft",
        time_proposed_by="contact",
    )
    url = f"{URL}/{interaction['id']}"
    r = await client.patch(
        url, json={"objective": None, "summary": None, "time_proposed_by": None}, headers=alice
    )
    assert r.status_code == 200, r.text
    patched = r.json()
    assert patched["objective"] is None
    assert patched["summary"] is None
    assert patched["time_proposed_by"] is None
    for name in ("contact_id", "channel", "kind", "status", "occurred_at", "created_at"):
        assert patched[name] == interaction[name], name
    assert patched["version"] == 2
    assert patched["updated_at"] >= interaction["updated_at"]
    assert (await client.get(url, headers=alice)).json() == patched


async def test_patch_changes_fields_and_normalises_time_to_utc(client, alice):
    interaction = await create_interaction(client, alice)
    r = await client.patch(
        f"{URL}/{interaction['id']}",
        json={"channel": "letter", "kind": "check_in", "occurred_at": "2026-04-01T08:30:00-05:00"},
        headers=alice,
    )
    assert r.status_code == 200, r.text
    patched = r.json()
    assert patched["channel"] == "letter" and patched["kind"] == "check_in"
    assert patched["occurred_at"] == "2026-04-01T13:30:00Z"


@pytest.mark.parametrize("content_type", ["application/json", "application/merge-patch+json"])
async def test_both_json_media_types_are_accepted_for_patch(client, alice, content_type):
    interaction = await create_interaction(client, alice)
    r = await client.patch(
        f"{URL}/{interaction['id']}",
        content=b'{"summary": "Talked shop."}',
        headers={**alice, "Content-Type": content_type},
    )
    assert r.status_code == 200, r.text
    assert r.json()["summary"] == "Talked shop."


async def test_patch_as_text_plain_is_415_and_changes_nothing(client, alice):
    interaction = await create_interaction(client, alice)
    url = f"{URL}/{interaction['id']}"
    r = await client.patch(
        url, content=b'{"summary": "x"}', headers={**alice, "Content-Type": "text/plain"}
    )
    assert_problem(r, 415)
    assert (await client.get(url, headers=alice)).json() == interaction


@pytest.mark.parametrize("field", ["channel", "occurred_at"])
async def test_patch_null_on_required_field_is_422_and_changes_nothing(client, alice, field):
    interaction = await create_interaction(client, alice)
    url = f"{URL}/{interaction['id']}"
    r = await client.patch(url, json={field: None}, headers=alice)
    assert fields_named(assert_problem(r, 422)) == [f"body.{field}"]
    assert (await client.get(url, headers=alice)).json() == interaction


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"contact_id": "__other__"}, "body.contact_id"),
        ({"contact_id": None}, "body.contact_id"),
        ({"id": str(uuid.uuid4())}, "body.id"),
        ({"version": 99}, "body.version"),
        ({"created_at": "2020-01-01T00:00:00Z"}, "body.created_at"),
        ({"updated_at": "2020-01-01T00:00:00Z"}, "body.updated_at"),
        ({"channel": "pigeon"}, "body.channel"),
        ({"status": "done"}, "body.status"),
        ({"objective": "o" * 1001}, "body.objective"),
        ({"summary": "\x00"}, "body.summary"),
        ({"occurred_at": "2026-03-01T10:00:00"}, "body.occurred_at"),
    ],
)
async def test_invalid_or_server_owned_patch_is_422_and_changes_nothing(
    client, alice, patch, field
):
    interaction = await create_interaction(client, alice)
    if patch.get("contact_id") == "__other__":
        patch = {"contact_id": (await create(client, alice, full_name="Other"))["id"]}
    url = f"{URL}/{interaction['id']}"
    r = await client.patch(url, json=patch, headers=alice)
    assert field in fields_named(assert_problem(r, 422)), r.text
    assert (await client.get(url, headers=alice)).json() == interaction


async def test_empty_patch_changes_nothing(client, alice):
    interaction = await create_interaction(client, alice)
    r = await client.patch(f"{URL}/{interaction['id']}", json={}, headers=alice)
    assert r.status_code == 200
    assert r.headers["etag"] == '"1"'
    assert r.json() == interaction


async def test_patch_to_the_same_values_changes_nothing(client, alice):
    interaction = await create_interaction(client, alice, summary="same")
    r = await client.patch(
        f"{URL}/{interaction['id']}",
        json={"summary": "same", "channel": "email", "occurred_at": "2026-03-01T11:00:00+01:00"},
        headers=alice,
    )
    assert r.status_code == 200
    assert r.json() == interaction


async def test_version_grows_by_one_per_change(client, alice):
    interaction = await create_interaction(client, alice)
    url = f"{URL}/{interaction['id']}"
    for expected, summary in enumerate(["a", "b", "c"], start=2):
        r = await client.patch(url, json={"summary": summary}, headers=alice)
        assert r.json()["version"] == expected
        assert r.headers["etag"] == f'"{expected}"'


# --- delete ---


async def test_delete_then_gone_from_reads_and_second_delete_is_404(client, alice):
    interaction = await create_interaction(client, alice)
    kept = await create_interaction(client, alice, contact_id=interaction["contact_id"])
    url = f"{URL}/{interaction['id']}"
    r = await client.delete(url, headers=alice)
    assert r.status_code == 204 and r.content == b""
    assert_problem(await client.get(url, headers=alice), 404)
    assert_problem(await client.patch(url, json={"summary": "x"}, headers=alice), 404)
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
    body = {"contact_id": contact["id"], "channel": "email", "occurred_at": "2026-03-01T10:00Z"}
    headers = {**alice, "Idempotency-Key": "log-interaction-1"}
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
    headers = {**alice, "Idempotency-Key": "log-interaction-3"}
    body = {"contact_id": contact["id"], "channel": "pigeon", "occurred_at": "2026-03-01T10:00Z"}
    assert_problem(await client.post(URL, json=body, headers=headers), 422)
    r = await client.post(URL, json={**body, "channel": "email"}, headers=headers)
    assert r.status_code == 201, r.text
    assert "idempotent-replayed" not in r.headers


async def test_idempotency_key_with_another_body_is_422(client, alice):
    contact = await create(client, alice)
    body = {"contact_id": contact["id"], "channel": "email", "occurred_at": "2026-03-01T10:00Z"}
    headers = {**alice, "Idempotency-Key": "log-interaction-2"}
    assert (await client.post(URL, json=body, headers=headers)).status_code == 201
    r = await client.post(URL, json={**body, "channel": "phone"}, headers=headers)
    assert_problem(r, 422)
    assert len(await listed_ids(client, alice)) == 1


# --- list filters ---


async def test_filter_by_contact_id(client, alice):
    grace = await create(client, alice)
    ada = await create(client, alice, full_name="Ada Lovelace")
    mine = [await create_interaction(client, alice, grace["id"]) for _ in range(2)]
    await create_interaction(client, alice, ada["id"])
    assert await listed_ids(client, alice, contact_id=grace["id"]) == [i["id"] for i in mine]
    assert await listed_ids(client, alice, contact_id=str(uuid.uuid4())) == []


async def test_filter_by_channel_and_status_combine_with_and(client, alice):
    contact = await create(client, alice)
    cid = contact["id"]
    call_done = await create_interaction(client, alice, cid, channel="phone")
    call_planned = await create_interaction(client, alice, cid, channel="phone", status="planned")
    email_planned = await create_interaction(client, alice, cid, status="planned")
    assert await listed_ids(client, alice, channel="phone") == [
        call_done["id"],
        call_planned["id"],
    ]
    assert await listed_ids(client, alice, status="planned") == [
        call_planned["id"],
        email_planned["id"],
    ]
    assert await listed_ids(client, alice, channel="phone", status="planned") == [
        call_planned["id"]
    ]
    assert await listed_ids(client, alice, status="cancelled") == []


async def test_occurred_after_is_inclusive_and_occurred_before_exclusive(client, alice):
    contact = await create(client, alice)
    times = ["2026-03-01T09:00:00Z", "2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"]
    early, mid, late = [
        (await create_interaction(client, alice, contact["id"], occurred_at=t))["id"] for t in times
    ]
    assert await listed_ids(client, alice, occurred_after="2026-03-01T10:00:00Z") == [mid, late]
    assert await listed_ids(client, alice, occurred_before="2026-03-01T10:00:00Z") == [early]
    # Offsets are honoured: 11:00+01:00 is 10:00Z.
    window = {"occurred_after": "2026-03-01T11:00:00+01:00", "occurred_before": "2026-03-01T11:00Z"}
    assert await listed_ids(client, alice, **window) == [mid]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"contact_id": "nope"}, "query.contact_id"),
        ({"channel": "pigeon"}, "query.channel"),
        ({"status": "done"}, "query.status"),
        ({"occurred_after": "2026-03-01T10:00:00"}, "query.occurred_after"),
        ({"occurred_after": "9999-12-31T23:30:00-01:00"}, "query.occurred_after"),
        ({"occurred_before": "1900-01-01T00:30:00+01:00"}, "query.occurred_before"),
        ({"occurred_before": "last week"}, "query.occurred_before"),
        ({"limit": 0}, "query.limit"),
        ({"limit": 201}, "query.limit"),
    ],
)
async def test_invalid_filter_is_422_naming_it(client, alice, params, field):
    r = await client.get(URL, params=params, headers=alice)
    assert field in fields_named(assert_problem(r, 422))


# --- pagination ---


async def test_pages_cover_every_interaction_once_and_last_cursor_is_null(client, alice):
    contact = await create(client, alice)
    ids = [(await create_interaction(client, alice, contact["id"]))["id"] for _ in range(5)]
    first = (await client.get(URL, params={"limit": 2}, headers=alice)).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    assert [i["id"] for i in await walk(client, alice, limit=2)] == ids
    assert (await client.get(URL, params={"limit": 5}, headers=alice)).json()["next_cursor"] is None


async def test_pages_respect_filters(client, alice):
    contact = await create(client, alice)
    phones = []
    for _ in range(4):
        phones.append(
            (await create_interaction(client, alice, contact["id"], channel="phone"))["id"]
        )
        await create_interaction(client, alice, contact["id"])
    seen = await walk(client, alice, limit=1, channel="phone")
    assert [i["id"] for i in seen] == phones


async def test_tampered_cursor_is_400(client, alice):
    contact = await create(client, alice)
    for _ in range(2):
        await create_interaction(client, alice, contact["id"])
    cursor = (await client.get(URL, params={"limit": 1}, headers=alice)).json()["next_cursor"]
    for bad in [cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB"), "garbage", "a.b.c"]:
        r = await client.get(URL, params={"cursor": bad, "limit": 1}, headers=alice)
        assert_problem(r, 400)


async def test_cursor_from_the_contacts_list_is_400(client, alice):
    for n in range(2):
        contact = await create(client, alice, full_name=f"P{n}")
        await create_interaction(client, alice, contact["id"])
    r = await client.get("/v1/contacts", params={"limit": 1}, headers=alice)
    cursor = r.json()["next_cursor"]
    assert cursor
    assert_problem(await client.get(URL, params={"cursor": cursor, "limit": 1}, headers=alice), 400)


async def test_cursor_from_other_filters_is_400(client, alice):
    contact = await create(client, alice)
    for _ in range(2):
        await create_interaction(client, alice, contact["id"])
    cursor = (await client.get(URL, params={"limit": 1}, headers=alice)).json()["next_cursor"]
    r = await client.get(
        URL, params={"cursor": cursor, "limit": 1, "channel": "email"}, headers=alice
    )
    assert_problem(r, 400)
