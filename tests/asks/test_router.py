"""Asks over HTTP: CRUD, ownership, validation, status moves, conditional requests, lists."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from tests.conftest import UNKNOWN_ID
from tests.contacts.test_router import assert_problem
from tests.contacts.test_router import create as create_contact


async def create_ask(
    client: httpx.AsyncClient, headers: dict[str, str], contact_id: str, **fields: object
) -> httpx.Response:
    body = {
        "contact_id": contact_id,
        "direction": "outgoing",
        "kind": "advice",
        "statement": "Could you tell me how you moved into compiler work?",
        **fields,
    }
    return await client.post("/v1/asks", json=body, headers=headers)


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], contact_id: str, **fields: object
) -> dict:
    r = await create_ask(client, headers, contact_id, **fields)
    assert r.status_code == 201, r.text
    return r.json()


async def list_asks(client: httpx.AsyncClient, headers: dict[str, str], **params) -> list[dict]:
    r = await client.get("/v1/asks", params={"limit": 200, **params}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["next_cursor"] is None
    return r.json()["items"]


def parse_time(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value)


def codes(ask: dict) -> set[str]:
    return {w["code"] for w in ask["etiquette_warnings"]}


@pytest.fixture
async def contact(client, alice) -> dict:
    return await create_contact(client, alice, full_name="Grace Hopper")


# --- anonymous callers ---


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/asks"),
        ("POST", "/v1/asks"),
        ("GET", f"/v1/asks/{UNKNOWN_ID}"),
        ("PATCH", f"/v1/asks/{UNKNOWN_ID}"),
        ("DELETE", f"/v1/asks/{UNKNOWN_ID}"),
    ],
)
async def test_anonymous_request_is_401_with_bearer_challenge(client, method, path):
    body = {"statement": "x"} if method in {"POST", "PATCH"} else None
    r = await client.request(method, path, json=body)
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_anonymous_post_creates_nothing(client, alice, contact):
    body = {"contact_id": contact["id"], "direction": "outgoing", "kind": "advice"}
    assert_problem(await client.post("/v1/asks", json={**body, "statement": "x"}), 401)
    assert await list_asks(client, alice) == []


# --- create and read ---


async def test_create_returns_201_with_location_etag_and_every_field(client, alice, contact):
    body = {
        "contact_id": contact["id"],
        "direction": "outgoing",
        "kind": "feedback",
        "statement": "Could you look over my resume for a compiler-engineer role?",
        "researched": True,
        "status": "open",
        "due_at": "2026-12-15T19:00:00+02:00",
        "effort": 4,
    }
    r = await client.post("/v1/asks", json=body, headers=alice)
    assert r.status_code == 201, r.text
    created, etag = r.json(), r.headers["etag"]
    assert r.headers["location"] == f"/v1/asks/{created['id']}"
    assert r.headers["etag"].startswith('"1.') and r.headers["etag"].endswith('"')
    for name, value in body.items():
        if name != "due_at":
            assert created[name] == value, name
    assert created["due_at"] == "2026-12-15T17:00:00Z"
    assert created["resolved_at"] is None
    assert created["etiquette_warnings"] == []
    assert created["version"] == 1
    assert created["created_at"].endswith("Z") and created["updated_at"] == created["created_at"]
    uuid.UUID(created["id"])

    r = await client.get(r.headers["location"], headers=alice)
    assert r.status_code == 200
    assert r.json() == created
    assert r.headers["etag"] == etag


async def test_researched_defaults_to_false_and_status_to_open(client, alice, contact):
    created = await create(client, alice, contact["id"])
    assert created["researched"] is False
    assert created["status"] == "open"
    assert created["resolved_at"] is None
    assert created["due_at"] is None and created["effort"] is None


async def test_incoming_ask_is_created(client, alice, contact):
    created = await create(client, alice, contact["id"], direction="incoming", kind="referral")
    assert created["direction"] == "incoming" and created["kind"] == "referral"


async def test_statement_is_trimmed(client, alice, contact):
    created = await create(client, alice, contact["id"], statement="  An intro to Ada  ")
    assert created["statement"] == "An intro to Ada"


async def test_statement_of_2000_characters_is_accepted(client, alice, contact):
    created = await create(client, alice, contact["id"], statement="s" * 2000)
    assert len(created["statement"]) == 2000


# --- ownership ---


async def test_another_users_ask_is_404_everywhere_and_absent_from_their_list(
    client, alice, bob, contact
):
    ask = await create(client, alice, contact["id"])
    url = f"/v1/asks/{ask['id']}"
    assert_problem(await client.get(url, headers=bob), 404)
    assert_problem(await client.patch(url, json={"status": "withdrawn"}, headers=bob), 404)
    assert_problem(await client.delete(url, headers=bob), 404)
    assert await list_asks(client, bob) == []
    assert await list_asks(client, bob, contact_id=contact["id"]) == []
    # And nothing changed for the owner.
    r = await client.get(url, headers=alice)
    assert r.status_code == 200 and r.json() == ask


async def test_missing_ask_is_404_same_as_foreign(client, alice):
    body = assert_problem(await client.get(f"/v1/asks/{uuid.uuid4()}", headers=alice), 404)
    assert body["detail"] == "No ask with this id."


async def test_malformed_id_is_422(client, alice):
    assert_problem(await client.get("/v1/asks/not-a-uuid", headers=alice), 422)


# --- contact_id must name one of the caller's live contacts ---


async def assert_unknown_contact(r: httpx.Response) -> None:
    problem = assert_problem(r, 422)
    assert [e["field"] for e in problem["errors"]] == ["body.contact_id"]


async def test_missing_contact_is_422_naming_contact_id_and_creates_nothing(client, alice):
    await assert_unknown_contact(await create_ask(client, alice, str(uuid.uuid4())))
    assert await list_asks(client, alice) == []


async def test_deleted_contact_is_422_naming_contact_id_and_creates_nothing(client, alice, contact):
    r = await client.delete(f"/v1/contacts/{contact['id']}", headers=alice)
    assert r.status_code == 204
    await assert_unknown_contact(await create_ask(client, alice, contact["id"]))
    assert await list_asks(client, alice) == []


async def test_another_users_contact_is_422_naming_contact_id_and_creates_nothing(
    client, alice, bob, contact
):
    await assert_unknown_contact(await create_ask(client, bob, contact["id"]))
    assert await list_asks(client, bob) == []
    assert await list_asks(client, alice) == []


# --- validation ---


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"direction": None}, "body.direction"),
        ({"kind": None}, "body.kind"),
        ({"statement": None}, "body.statement"),
        ({"contact_id": None}, "body.contact_id"),
        ({"contact_id": "not-a-uuid"}, "body.contact_id"),
        ({"statement": ""}, "body.statement"),
        ({"statement": "   "}, "body.statement"),
        ({"statement": "s" * 2001}, "body.statement"),
        ({"statement": "A\u0000B"}, "body.statement"),
        ({"statement": 42}, "body.statement"),
        ({"effort": 0}, "body.effort"),
        ({"effort": 6}, "body.effort"),
        ({"effort": "high"}, "body.effort"),
        ({"direction": "sideways"}, "body.direction"),
        ({"kind": "money"}, "body.kind"),
        ({"status": "pending"}, "body.status"),
        ({"researched": "maybe"}, "body.researched"),
        ({"due_at": "2026-12-15T17:00:00"}, "body.due_at"),
        ({"due_at": 1767225600}, "body.due_at"),
        ({"due_at": "tomorrow"}, "body.due_at"),
        ({"resolved_at": "2026-01-01T00:00:00Z"}, "body.resolved_at"),
        ({"id": str(uuid.uuid4())}, "body.id"),
        ({"version": 7}, "body.version"),
        ({"etiquette_warnings": []}, "body.etiquette_warnings"),
        ({"created_at": "2026-01-01T00:00:00Z"}, "body.created_at"),
        ({"owner_id": str(uuid.uuid4())}, "body.owner_id"),
    ],
)
async def test_invalid_create_is_422_naming_the_field_and_creates_nothing(
    client, alice, contact, changes, field
):
    body = {
        "contact_id": contact["id"],
        "direction": "outgoing",
        "kind": "advice",
        "statement": "Some advice, please.",
    }
    for name, value in changes.items():
        if value is None:
            del body[name]
        else:
            body[name] = value
    r = await client.post("/v1/asks", json=body, headers=alice)
    problem = assert_problem(r, 422)
    assert field in [e["field"] for e in problem["errors"]], problem
    assert await list_asks(client, alice) == []


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"contact_id": str(uuid.uuid4())}, "body.contact_id"),
        ({"direction": "incoming"}, "body.direction"),
        ({"resolved_at": "2026-01-01T00:00:00Z"}, "body.resolved_at"),
        ({"id": str(uuid.uuid4())}, "body.id"),
        ({"version": 9}, "body.version"),
        ({"etiquette_warnings": []}, "body.etiquette_warnings"),
        ({"statement": ""}, "body.statement"),
        ({"statement": "s" * 2001}, "body.statement"),
        ({"statement": "a\u0000"}, "body.statement"),
        ({"effort": 0}, "body.effort"),
        ({"effort": 6}, "body.effort"),
        ({"kind": "money"}, "body.kind"),
        ({"status": "done"}, "body.status"),
        ({"due_at": "2026-12-15T17:00:00"}, "body.due_at"),
        ({"statement": None}, "body.statement"),
        ({"kind": None}, "body.kind"),
        ({"status": None}, "body.status"),
    ],
)
async def test_invalid_patch_is_422_naming_the_field_and_changes_nothing(
    client, alice, contact, patch, field
):
    ask = await create(client, alice, contact["id"])
    url = f"/v1/asks/{ask['id']}"
    problem = assert_problem(await client.patch(url, json=patch, headers=alice), 422)
    assert field in [e["field"] for e in problem["errors"]], problem
    assert (await client.get(url, headers=alice)).json() == ask


async def test_patch_of_contact_id_to_the_same_value_is_still_422(client, alice, contact):
    ask = await create(client, alice, contact["id"])
    r = await client.patch(
        f"/v1/asks/{ask['id']}", json={"contact_id": contact["id"]}, headers=alice
    )
    assert assert_problem(r, 422)["errors"][0]["field"] == "body.contact_id"


# --- merge patch ---


async def test_patch_changes_given_fields_bumps_version_and_keeps_the_rest(client, alice, contact):
    ask = await create(client, alice, contact["id"], effort=2, due_at="2026-12-01T00:00:00Z")
    url = f"/v1/asks/{ask['id']}"
    r = await client.patch(url, json={"statement": "Sharper", "effort": None}, headers=alice)
    assert r.status_code == 200, r.text
    patched = r.json()
    assert patched["statement"] == "Sharper"
    assert patched["effort"] is None  # null clears
    assert patched["due_at"] == "2026-12-01T00:00:00Z"  # absent: unchanged
    assert patched["kind"] == "advice" and patched["status"] == "open"
    assert patched["version"] == 2
    assert patched["created_at"] == ask["created_at"]
    assert r.headers["etag"].startswith('"2.')
    assert (await client.get(url, headers=alice)).json() == patched


async def test_merge_patch_content_type_is_accepted(client, alice, contact):
    ask = await create(client, alice, contact["id"])
    r = await client.patch(
        f"/v1/asks/{ask['id']}",
        content=b'{"effort": 5}',
        headers={**alice, "Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200 and r.json()["effort"] == 5


async def test_empty_patch_changes_nothing(client, alice, contact):
    ask = await create(client, alice, contact["id"])
    r = await client.patch(f"/v1/asks/{ask['id']}", json={}, headers=alice)
    assert r.status_code == 200
    assert r.json() == ask


# --- status moves ---


async def move(client, headers, ask: dict, status: str) -> httpx.Response:
    return await client.patch(f"/v1/asks/{ask['id']}", json={"status": status}, headers=headers)


async def test_open_to_accepted_to_fulfilled(client, alice, contact):
    ask = await create(client, alice, contact["id"])
    r = await move(client, alice, ask, "accepted")
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert r.json()["resolved_at"] is None
    r = await move(client, alice, ask, "fulfilled")
    assert r.status_code == 200 and r.json()["status"] == "fulfilled"
    assert r.json()["resolved_at"] is not None
    assert r.json()["version"] == 3


@pytest.mark.parametrize("status", ["declined", "withdrawn", "fulfilled"])
async def test_open_can_be_resolved_directly(client, alice, contact, status):
    ask = await create(client, alice, contact["id"])
    r = await move(client, alice, ask, status)
    assert r.status_code == 200
    assert r.json()["status"] == status and r.json()["resolved_at"] is not None


@pytest.mark.parametrize("status", ["declined", "withdrawn", "fulfilled"])
async def test_accepted_can_be_resolved(client, alice, contact, status):
    ask = await create(client, alice, contact["id"], status="accepted")
    r = await move(client, alice, ask, status)
    assert r.status_code == 200
    assert r.json()["status"] == status and r.json()["resolved_at"] is not None


@pytest.mark.parametrize("status", ["declined", "withdrawn", "fulfilled"])
async def test_resolved_ask_can_be_reopened_and_resolved_at_is_cleared(
    client, alice, contact, status
):
    ask = await create(client, alice, contact["id"])
    assert (await move(client, alice, ask, status)).json()["resolved_at"] is not None
    r = await move(client, alice, ask, "open")
    assert r.status_code == 200
    assert r.json()["status"] == "open" and r.json()["resolved_at"] is None
    stored = (await client.get(f"/v1/asks/{ask['id']}", headers=alice)).json()
    assert stored["status"] == "open" and stored["resolved_at"] is None


async def test_reopened_ask_resolved_again_gets_a_new_resolved_at(client, alice, contact):
    ask = await create(client, alice, contact["id"])
    first = (await move(client, alice, ask, "fulfilled")).json()["resolved_at"]
    await move(client, alice, ask, "open")
    second = (await move(client, alice, ask, "declined")).json()["resolved_at"]
    assert parse_time(second) > parse_time(first)


@pytest.mark.parametrize(
    ("start", "path", "target"),
    [
        ("accepted", [], "open"),
        ("fulfilled", [], "declined"),
        ("fulfilled", [], "withdrawn"),
        ("fulfilled", [], "accepted"),
        ("declined", [], "accepted"),
        ("declined", [], "fulfilled"),
        ("withdrawn", [], "fulfilled"),
        ("withdrawn", [], "accepted"),
        ("open", ["accepted", "fulfilled"], "accepted"),
        ("open", ["declined"], "withdrawn"),
    ],
)
async def test_forbidden_status_move_is_409_and_changes_nothing(
    client, alice, contact, start, path, target
):
    ask = await create(client, alice, contact["id"], status=start)
    for status in path:
        assert (await move(client, alice, ask, status)).status_code == 200
    url = f"/v1/asks/{ask['id']}"
    before = (await client.get(url, headers=alice)).json()
    r = await client.patch(url, json={"status": target, "statement": "Changed"}, headers=alice)
    problem = assert_problem(r, 409)
    assert f"`{before['status']}`" in problem["detail"] and f"`{target}`" in problem["detail"]
    assert (await client.get(url, headers=alice)).json() == before


async def test_staying_in_the_same_status_is_allowed(client, alice, contact):
    ask = await create(client, alice, contact["id"], status="fulfilled")
    r = await client.patch(
        f"/v1/asks/{ask['id']}", json={"status": "fulfilled", "effort": 3}, headers=alice
    )
    assert r.status_code == 200
    assert r.json()["effort"] == 3 and r.json()["resolved_at"] == ask["resolved_at"]


# --- resolved_at is server-owned ---


@pytest.mark.parametrize("status", ["fulfilled", "declined", "withdrawn"])
async def test_resolved_at_is_set_by_the_server_during_the_request(client, alice, contact, status):
    ask = await create(client, alice, contact["id"])
    started = datetime.now(UTC)
    r = await move(client, alice, ask, status)
    ended = datetime.now(UTC)
    resolved_at = parse_time(r.json()["resolved_at"])
    assert started <= resolved_at <= ended
    assert r.json()["updated_at"] == r.json()["resolved_at"]


async def test_unrelated_edit_of_a_resolved_ask_keeps_resolved_at(client, alice, contact):
    ask = await create(client, alice, contact["id"])
    resolved = (await move(client, alice, ask, "fulfilled")).json()
    r = await client.patch(
        f"/v1/asks/{ask['id']}", json={"statement": "Thanks again", "effort": 2}, headers=alice
    )
    assert r.status_code == 200
    assert r.json()["resolved_at"] == resolved["resolved_at"]
    assert parse_time(r.json()["updated_at"]) > parse_time(resolved["updated_at"])
    assert r.json()["version"] == resolved["version"] + 1


async def test_unrelated_edit_of_an_open_ask_leaves_resolved_at_null(client, alice, contact):
    ask = await create(client, alice, contact["id"], status="accepted")
    r = await client.patch(f"/v1/asks/{ask['id']}", json={"effort": 2}, headers=alice)
    assert r.json()["resolved_at"] is None and r.json()["status"] == "accepted"


@pytest.mark.parametrize("status", ["fulfilled", "declined", "withdrawn"])
async def test_ask_created_resolved_gets_a_resolved_at(client, alice, contact, status):
    started = datetime.now(UTC)
    created = await create(client, alice, contact["id"], status=status)
    ended = datetime.now(UTC)
    assert created["status"] == status
    assert created["resolved_at"] is not None
    assert started <= parse_time(created["resolved_at"]) <= ended
    assert created["resolved_at"] == created["created_at"]


@pytest.mark.parametrize("status", ["open", "accepted"])
async def test_ask_created_unresolved_has_no_resolved_at(client, alice, contact, status):
    created = await create(client, alice, contact["id"], status=status)
    assert created["resolved_at"] is None


# --- conditional requests ---


async def test_if_none_match_current_etag_is_304_without_body(client, alice, contact):
    r = await create_ask(client, alice, contact["id"])
    etag = r.headers["etag"]
    url = r.headers["location"]
    r = await client.get(url, headers={**alice, "If-None-Match": etag})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == etag
    r = await client.get(url, headers={**alice, "If-None-Match": f'"0.x", W/{etag}'})
    assert r.status_code == 304


async def test_if_none_match_with_the_version_alone_is_not_a_match(client, alice, contact):
    r = await create_ask(client, alice, contact["id"])
    r = await client.get(r.headers["location"], headers={**alice, "If-None-Match": '"1"'})
    assert r.status_code == 200


async def test_if_none_match_stale_etag_returns_the_record(client, alice, contact):
    r = await create_ask(client, alice, contact["id"])
    old, url = r.headers["etag"], r.headers["location"]
    await client.patch(url, json={"effort": 1}, headers=alice)
    r = await client.get(url, headers={**alice, "If-None-Match": old})
    assert r.status_code == 200
    assert r.json()["effort"] == 1
    assert r.headers["etag"] != old and r.headers["etag"].startswith('"2.')


async def test_patch_with_stale_if_match_is_412_and_changes_nothing(client, alice, contact):
    r = await create_ask(client, alice, contact["id"])
    old, url = r.headers["etag"], r.headers["location"]
    assert (await client.patch(url, json={"effort": 2}, headers=alice)).status_code == 200
    r = await client.patch(url, json={"status": "withdrawn"}, headers={**alice, "If-Match": old})
    assert_problem(r, 412)
    current = (await client.get(url, headers=alice)).json()
    assert current["status"] == "open" and current["version"] == 2
    assert current["resolved_at"] is None


async def test_patch_with_current_if_match_succeeds(client, alice, contact):
    r = await create_ask(client, alice, contact["id"])
    url = r.headers["location"]
    r = await client.patch(
        url, json={"effort": 2}, headers={**alice, "If-Match": r.headers["etag"]}
    )
    assert r.status_code == 200 and r.json()["version"] == 2


async def test_weak_etag_never_satisfies_if_match(client, alice, contact):
    r = await create_ask(client, alice, contact["id"])
    r = await client.patch(
        r.headers["location"],
        json={"effort": 2},
        headers={**alice, "If-Match": "W/" + r.headers["etag"]},
    )
    assert_problem(r, 412)


async def test_delete_honours_if_match(client, alice, contact):
    r = await create_ask(client, alice, contact["id"])
    etag, url = r.headers["etag"], r.headers["location"]
    assert_problem(await client.delete(url, headers={**alice, "If-Match": '"9.abc"'}), 412)
    assert (await client.get(url, headers=alice)).status_code == 200
    assert (await client.delete(url, headers={**alice, "If-Match": etag})).status_code == 204


async def test_if_match_with_the_version_part_works_after_the_warnings_changed(
    client, alice, contact
):
    r = await create_ask(client, alice, contact["id"])
    old, url = r.headers["etag"], r.headers["location"]
    # Another open outgoing ask to the same contact adds `pending_ask` to the first one.
    await create(client, alice, contact["id"], kind="feedback")
    current = await client.get(url, headers=alice)
    assert current.headers["etag"] != old
    assert current.headers["etag"].split(".")[0] == old.split(".")[0]
    # The stored record did not change, so the old tag still guards a write.
    r = await client.patch(url, json={"effort": 2}, headers={**alice, "If-Match": old})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    r = await client.patch(url, json={"effort": 3}, headers={**alice, "If-Match": '"2"'})
    assert r.status_code == 200, r.text


async def test_warnings_changed_by_another_record_refresh_the_etag(client, alice, contact):
    r = await create_ask(client, alice, contact["id"])
    old, url = r.headers["etag"], r.headers["location"]
    assert "pending_ask" not in codes(r.json())
    await create(client, alice, contact["id"], kind="feedback")
    r = await client.get(url, headers={**alice, "If-None-Match": old})
    assert r.status_code == 200
    assert "pending_ask" in codes(r.json())
    assert r.json()["version"] == 1
    new = r.headers["etag"]
    assert new != old
    r = await client.get(url, headers={**alice, "If-None-Match": new})
    assert r.status_code == 304 and r.headers["etag"] == new


async def test_etag_returns_to_the_old_one_when_the_warnings_do(client, alice, contact):
    r = await create_ask(client, alice, contact["id"])
    old, url = r.headers["etag"], r.headers["location"]
    other = await create(client, alice, contact["id"], kind="feedback")
    assert (await client.get(url, headers=alice)).headers["etag"] != old
    await move(client, alice, other, "withdrawn")
    r = await client.get(url, headers={**alice, "If-None-Match": old})
    assert r.status_code == 304


async def test_renaming_the_contact_refreshes_the_etag_of_a_warned_ask(client, alice, contact):
    # The pending_ask message names the contact: a 304 would keep the client's old name.
    ask = await create(client, alice, contact["id"])
    await create(client, alice, contact["id"])
    url = f"/v1/asks/{ask['id']}"
    r = await client.get(url, headers=alice)
    old = r.headers["etag"]
    assert "Grace Hopper" in r.json()["etiquette_warnings"][0]["message"]
    renamed = {"full_name": "Grace Brewster Hopper"}
    r = await client.patch(f"/v1/contacts/{contact['id']}", json=renamed, headers=alice)
    assert r.status_code == 200
    r = await client.get(url, headers={**alice, "If-None-Match": old})
    assert r.status_code == 200
    assert "Grace Brewster Hopper" in r.json()["etiquette_warnings"][0]["message"]
    assert r.headers["etag"] != old
    assert r.headers["etag"].split(".")[0] == '"1'


# --- delete ---


async def test_delete_then_gone_from_reads_and_second_delete_is_404(client, alice, contact):
    ask = await create(client, alice, contact["id"])
    url = f"/v1/asks/{ask['id']}"
    r = await client.delete(url, headers=alice)
    assert r.status_code == 204 and r.content == b""
    assert_problem(await client.get(url, headers=alice), 404)
    assert_problem(await client.patch(url, json={"effort": 1}, headers=alice), 404)
    assert_problem(await client.delete(url, headers=alice), 404)
    assert await list_asks(client, alice) == []


async def test_deleting_the_contact_deletes_its_asks(client, alice, contact):
    ask = await create(client, alice, contact["id"])
    other = await create_contact(client, alice, full_name="Ada")
    kept = await create(client, alice, other["id"])
    assert (await client.delete(f"/v1/contacts/{contact['id']}", headers=alice)).status_code == 204
    assert_problem(await client.get(f"/v1/asks/{ask['id']}", headers=alice), 404)
    assert [a["id"] for a in await list_asks(client, alice)] == [kept["id"]]


# --- lists ---


async def test_list_filters_by_contact_direction_status_and_kind(client, alice, contact):
    other = await create_contact(client, alice, full_name="Ada Lovelace")
    a = await create(client, alice, contact["id"], kind="advice")
    b = await create(client, alice, contact["id"], direction="incoming", kind="referral")
    c = await create(client, alice, other["id"], kind="feedback", status="accepted")
    d = await create(client, alice, other["id"], direction="incoming", status="fulfilled")

    def ids(items: list[dict]) -> list[str]:
        return [i["id"] for i in items]

    assert ids(await list_asks(client, alice)) == [a["id"], b["id"], c["id"], d["id"]]
    assert ids(await list_asks(client, alice, contact_id=contact["id"])) == [a["id"], b["id"]]
    assert ids(await list_asks(client, alice, contact_id=other["id"])) == [c["id"], d["id"]]
    assert ids(await list_asks(client, alice, direction="incoming")) == [b["id"], d["id"]]
    assert ids(await list_asks(client, alice, direction="outgoing")) == [a["id"], c["id"]]
    assert ids(await list_asks(client, alice, status="accepted")) == [c["id"]]
    assert ids(await list_asks(client, alice, status="fulfilled")) == [d["id"]]
    assert ids(await list_asks(client, alice, status="open")) == [a["id"], b["id"]]
    assert ids(await list_asks(client, alice, kind="referral")) == [b["id"]]
    assert ids(await list_asks(client, alice, kind="job")) == []
    combined = await list_asks(client, alice, contact_id=other["id"], direction="incoming")
    assert ids(combined) == [d["id"]]
    assert await list_asks(client, alice, contact_id=str(uuid.uuid4())) == []


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("direction", "sideways"),
        ("status", "done"),
        ("kind", "money"),
        ("contact_id", "nope"),
        ("limit", 0),
        ("limit", 201),
    ],
)
async def test_invalid_list_filter_is_422_naming_the_parameter(client, alice, param, value):
    r = await client.get("/v1/asks", params={param: value}, headers=alice)
    assert assert_problem(r, 422)["errors"][0]["field"] == f"query.{param}"


async def test_pages_cover_every_ask_once_and_last_cursor_is_null(client, alice, contact):
    ids = [(await create(client, alice, contact["id"], effort=1 + i % 5))["id"] for i in range(7)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/asks", params=params, headers=alice)).json()
        pages += 1
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    assert pages == 3


async def test_paging_with_a_filter_keeps_the_filter(client, alice, contact):
    incoming = [
        (await create(client, alice, contact["id"], direction="incoming"))["id"] for _ in range(3)
    ]
    await create(client, alice, contact["id"])
    first = (
        await client.get("/v1/asks", params={"limit": 2, "direction": "incoming"}, headers=alice)
    ).json()
    assert [a["id"] for a in first["items"]] == incoming[:2]
    second = (
        await client.get(
            "/v1/asks",
            params={"limit": 2, "direction": "incoming", "cursor": first["next_cursor"]},
            headers=alice,
        )
    ).json()
    assert [a["id"] for a in second["items"]] == incoming[2:]
    assert second["next_cursor"] is None


async def test_tampered_cursor_is_400(client, alice, contact):
    for _ in range(3):
        await create(client, alice, contact["id"])
    cursor = (await client.get("/v1/asks?limit=1", headers=alice)).json()["next_cursor"]
    body, signature = cursor.split(".")
    payload = base64.urlsafe_b64decode(body + "==").replace(b'"t":"', b'"t":"1')
    forged = base64.urlsafe_b64encode(payload).rstrip(b"=").decode() + "." + signature
    for bad in [forged, cursor[:-2] + "xx", "garbage", "a.b.c"]:
        r = await client.get("/v1/asks", params={"cursor": bad, "limit": 1}, headers=alice)
        assert_problem(r, 400)


async def test_cursor_from_other_filters_is_400(client, alice, contact):
    for _ in range(3):
        await create(client, alice, contact["id"])
    cursor = (await client.get("/v1/asks?limit=1", headers=alice)).json()["next_cursor"]
    r = await client.get(
        "/v1/asks", params={"cursor": cursor, "limit": 1, "status": "open"}, headers=alice
    )
    assert_problem(r, 400)


async def test_contact_list_cursor_is_not_an_ask_list_cursor(client, alice, contact):
    await create_contact(client, alice, full_name="Second")
    await create(client, alice, contact["id"])
    cursor = (await client.get("/v1/contacts?limit=1", headers=alice)).json()["next_cursor"]
    assert cursor
    r = await client.get("/v1/asks", params={"cursor": cursor, "limit": 1}, headers=alice)
    assert_problem(r, 400)


# --- Idempotency-Key ---


async def test_idempotency_key_replay_creates_one_ask(client, alice, contact):
    headers = {**alice, "Idempotency-Key": "ask-once-1"}
    body = {
        "contact_id": contact["id"],
        "direction": "outgoing",
        "kind": "advice",
        "statement": "How did you get started?",
    }
    first = await client.post("/v1/asks", json=body, headers=headers)
    second = await client.post("/v1/asks", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["etag"] == first.headers["etag"]
    assert [a["id"] for a in await list_asks(client, alice)] == [first.json()["id"]]


async def test_idempotency_key_with_another_body_is_422_and_creates_nothing_more(
    client, alice, contact
):
    headers = {**alice, "Idempotency-Key": "ask-once-2"}
    await create_ask(client, headers, contact["id"])
    r = await create_ask(client, headers, contact["id"], kind="feedback")
    assert_problem(r, 422)
    assert len(await list_asks(client, alice)) == 1


async def test_rejected_create_does_not_burn_the_idempotency_key(client, alice, contact):
    headers = {**alice, "Idempotency-Key": "ask-once-3"}
    await assert_unknown_contact(await create_ask(client, headers, str(uuid.uuid4())))
    r = await create_ask(client, headers, contact["id"])
    assert r.status_code == 201, r.text


# --- methods ---


async def test_unsupported_method_is_405_with_allow(client, alice):
    r = await client.put("/v1/asks", json={}, headers=alice)
    assert_problem(r, 405)
    assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "POST"}
    r = await client.post(f"/v1/asks/{uuid.uuid4()}", json={}, headers=alice)
    assert_problem(r, 405)
    assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "PATCH", "DELETE"}


async def test_non_json_content_type_is_415(client, alice, contact):
    r = await client.post(
        "/v1/asks",
        content=b"{}",
        headers={**alice, "Content-Type": "text/plain"},
    )
    assert_problem(r, 415)
