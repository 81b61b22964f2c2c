"""Contacts over HTTP: CRUD, ownership, validation, conditional requests, merge patch."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.conftest import UNKNOWN_ID

PROBLEM = "application/problem+json"


async def create(client: httpx.AsyncClient, headers: dict[str, str], **fields: object) -> dict:
    body = {"full_name": "Grace Hopper", **fields}
    r = await client.post("/v1/contacts", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def assert_problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status
    assert body["type"] and body["title"] and "detail" in body
    return body


# --- anonymous callers ---


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/contacts"),
        ("POST", "/v1/contacts"),
        ("GET", f"/v1/contacts/{UNKNOWN_ID}"),
        ("PATCH", f"/v1/contacts/{UNKNOWN_ID}"),
        ("DELETE", f"/v1/contacts/{UNKNOWN_ID}"),
    ],
)
async def test_anonymous_request_is_401_with_bearer_challenge(client, method, path):
    r = await client.request(method, path, json={"full_name": "x"} if method != "GET" else None)
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")


# --- create and read ---


async def test_create_returns_201_with_location_etag_and_every_field(client, alice):
    body = {
        "full_name": "Grace Hopper",
        "email": "grace@example.com",
        "phone": "+1 202 555 0147",
        "organization": "Navy",
        "title": "Rear Admiral",
        "field": "computing",
        "circle": "alumni",
        "how_met": "Alumni mixer",
        "tags": ["compilers", "mentor"],
        "notes": "Offered to review my resume.",
        "role": "mentor",
        "open_to": ["advice", "feedback"],
        "cadence_days": 60,
        "track_follow_ups": False,
        "snoozed_until": "2026-12-01T09:00:00+02:00",
    }
    r = await client.post("/v1/contacts", json=body, headers=alice)
    assert r.status_code == 201
    created = r.json()
    assert r.headers["location"] == f"/v1/contacts/{created['id']}"
    assert r.headers["etag"] == '"1"'
    for name, value in body.items():
        if name != "snoozed_until":
            assert created[name] == value, name
    assert created["snoozed_until"] == "2026-12-01T07:00:00Z"
    assert created["version"] == 1
    assert created["created_at"].endswith("Z") and created["updated_at"] == created["created_at"]
    uuid.UUID(created["id"])

    r = await client.get(r.headers["location"], headers=alice)
    assert r.status_code == 200
    assert r.json() == created


async def test_defaults_for_optional_fields(client, alice):
    created = await create(client, alice)
    assert created["circle"] == "other"
    assert created["tags"] == [] and created["open_to"] == []
    assert created["track_follow_ups"] is True
    assert created["cadence_days"] is None and created["role"] is None


async def test_strings_are_trimmed_and_duplicate_tags_collapsed(client, alice):
    created = await create(client, alice, full_name="  Ada  ", tags=["x", "x", "y"])
    assert created["full_name"] == "Ada"
    assert created["tags"] == ["x", "y"]


# --- ownership ---


async def test_another_users_contact_is_404_everywhere(client, alice, bob):
    contact = await create(client, alice)
    url = f"/v1/contacts/{contact['id']}"
    assert_problem(await client.get(url, headers=bob), 404)
    assert_problem(await client.patch(url, json={"title": "x"}, headers=bob), 404)
    assert_problem(await client.delete(url, headers=bob), 404)
    r = await client.get("/v1/contacts", headers=bob)
    assert r.json()["items"] == []
    # And nothing changed for the owner.
    r = await client.get(url, headers=alice)
    assert r.status_code == 200 and r.json()["version"] == 1


async def test_missing_contact_is_404_same_as_foreign(client, alice):
    r = await client.get(f"/v1/contacts/{uuid.uuid4()}", headers=alice)
    body = assert_problem(r, 404)
    assert body["detail"] == "No contact with this id."


async def test_malformed_id_is_422(client, alice):
    assert_problem(await client.get("/v1/contacts/not-a-uuid", headers=alice), 422)


# --- validation ---


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body.full_name"),
        ({"full_name": ""}, "body.full_name"),
        ({"full_name": "x" * 201}, "body.full_name"),
        ({"full_name": "A\u0000B"}, "body.full_name"),
        ({"full_name": 42}, "body.full_name"),
        ({"full_name": "A", "circle": "enemy"}, "body.circle"),
        ({"full_name": "A", "role": "boss"}, "body.role"),
        ({"full_name": "A", "open_to": ["money"]}, "body.open_to.0"),
        ({"full_name": "A", "tags": ["t"] * 51}, "body.tags"),
        ({"full_name": "A", "tags": ["x" * 51]}, "body.tags.0"),
        ({"full_name": "A", "cadence_days": 0}, "body.cadence_days"),
        ({"full_name": "A", "cadence_days": 10**12}, "body.cadence_days"),
        ({"full_name": "A", "snoozed_until": "2026-01-01T10:00:00"}, "body.snoozed_until"),
        ({"full_name": "A", "snoozed_until": 1767225600}, "body.snoozed_until"),
        ({"full_name": "A", "snoozed_until": "0000-01-01T00:00:00Z"}, "body.snoozed_until"),
        ({"full_name": "A", "notes": "n" * 10_001}, "body.notes"),
        ({"full_name": "A", "track_follow_ups": "maybe"}, "body.track_follow_ups"),
        ({"full_name": "A", "id": str(uuid.uuid4())}, "body.id"),
        ({"full_name": "A", "version": 7}, "body.version"),
        ({"full_name": "A", "owner_id": str(uuid.uuid4())}, "body.owner_id"),
    ],
)
async def test_invalid_create_is_422_naming_the_field_and_creates_nothing(
    client, alice, body, field
):
    r = await client.post("/v1/contacts", json=body, headers=alice)
    problem = assert_problem(r, 422)
    assert field in [e["field"] for e in problem["errors"]], problem
    assert (await client.get("/v1/contacts", headers=alice)).json()["items"] == []


@pytest.mark.parametrize(
    "content",
    [b"{", b"[]", b"null", b'"text"', b"\xff\xfe", b'{"full_name": "A", "tags": ' * 1 + b"}"],
)
async def test_malformed_json_is_4xx_problem(client, alice, content):
    headers = {**alice, "Content-Type": "application/json"}
    r = await client.post("/v1/contacts", content=content, headers=headers)
    assert r.status_code in {400, 422}
    assert r.headers["content-type"].startswith(PROBLEM)


async def test_deeply_nested_json_is_rejected_cleanly(client, alice):
    content = b'{"full_name": "A", "notes": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    r = await client.post(
        "/v1/contacts", content=content, headers={**alice, "Content-Type": "application/json"}
    )
    assert r.status_code in {400, 422}
    assert r.headers["content-type"].startswith(PROBLEM)


async def test_non_json_content_type_is_415(client, alice):
    r = await client.post(
        "/v1/contacts",
        content=b'{"full_name": "A"}',
        headers={**alice, "Content-Type": "text/plain"},
    )
    assert_problem(r, 415)


async def test_body_over_one_mebibyte_is_413_and_creates_nothing(client, alice):
    content = b'{"full_name": "A", "notes": "' + b"n" * (2 * 1024 * 1024) + b'"}'
    r = await client.post(
        "/v1/contacts", content=content, headers={**alice, "Content-Type": "application/json"}
    )
    assert_problem(r, 413)
    assert (await client.get("/v1/contacts", headers=alice)).json()["items"] == []


async def test_chunked_body_over_the_limit_is_413(client, alice):
    async def chunks():
        yield b'{"full_name": "A", "notes": "'
        for _ in range(40):
            yield b"n" * 65536
        yield b'"}'

    r = await client.post(
        "/v1/contacts", content=chunks(), headers={**alice, "Content-Type": "application/json"}
    )
    assert_problem(r, 413)


# --- conditional requests ---


async def test_if_none_match_current_etag_is_304_without_body(client, alice):
    contact = await create(client, alice)
    url = f"/v1/contacts/{contact['id']}"
    r = await client.get(url, headers={**alice, "If-None-Match": '"1"'})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == '"1"'
    r = await client.get(url, headers={**alice, "If-None-Match": '"0", W/"1"'})
    assert r.status_code == 304


async def test_if_none_match_stale_etag_returns_the_record(client, alice):
    contact = await create(client, alice)
    url = f"/v1/contacts/{contact['id']}"
    await client.patch(url, json={"title": "CTO"}, headers=alice)
    r = await client.get(url, headers={**alice, "If-None-Match": '"1"'})
    assert r.status_code == 200
    assert r.headers["etag"] == '"2"' and r.json()["title"] == "CTO"


async def test_patch_with_stale_if_match_is_412_and_changes_nothing(client, alice):
    contact = await create(client, alice, title="Engineer")
    url = f"/v1/contacts/{contact['id']}"
    assert (await client.patch(url, json={"title": "Lead"}, headers=alice)).status_code == 200
    r = await client.patch(url, json={"title": "CTO"}, headers={**alice, "If-Match": '"1"'})
    assert_problem(r, 412)
    current = (await client.get(url, headers=alice)).json()
    assert current["title"] == "Lead" and current["version"] == 2


async def test_patch_with_current_if_match_succeeds(client, alice):
    contact = await create(client, alice)
    url = f"/v1/contacts/{contact['id']}"
    r = await client.patch(url, json={"title": "CTO"}, headers={**alice, "If-Match": '"1"'})
    assert r.status_code == 200
    assert r.headers["etag"] == '"2"'


async def test_weak_etag_never_satisfies_if_match(client, alice):
    contact = await create(client, alice)
    url = f"/v1/contacts/{contact['id']}"
    r = await client.patch(url, json={"title": "CTO"}, headers={**alice, "If-Match": 'W/"1"'})
    assert_problem(r, 412)


async def test_delete_honours_if_match(client, alice):
    contact = await create(client, alice)
    url = f"/v1/contacts/{contact['id']}"
    assert_problem(await client.delete(url, headers={**alice, "If-Match": '"9"'}), 412)
    assert (await client.get(url, headers=alice)).status_code == 200
    assert (await client.delete(url, headers={**alice, "If-Match": '"1"'})).status_code == 204


# --- merge patch ---


async def test_merge_patch_absent_unchanged_null_clears(client, alice):
    contact = await create(
        client,
        alice,
        title="Engineer",
        notes="keep me?",
        tags=["a"],
        open_to=["advice"],
        cadence_days=10,
        circle="friend",
    )
    url = f"/v1/contacts/{contact['id']}"
    r = await client.patch(
        url,
        json={"notes": None, "tags": None, "open_to": None, "cadence_days": None},
        headers=alice,
    )
    assert r.status_code == 200
    patched = r.json()
    assert patched["title"] == "Engineer"  # absent: unchanged
    assert patched["notes"] is None and patched["cadence_days"] is None
    assert patched["tags"] == [] and patched["open_to"] == []
    assert patched["circle"] == "friend"
    assert patched["version"] == 2
    assert patched["updated_at"] >= contact["updated_at"]
    assert patched["created_at"] == contact["created_at"]


async def test_merge_patch_content_type_is_accepted(client, alice):
    contact = await create(client, alice)
    r = await client.patch(
        f"/v1/contacts/{contact['id']}",
        content=b'{"title": "CTO"}',
        headers={**alice, "Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200 and r.json()["title"] == "CTO"


@pytest.mark.parametrize("field", ["full_name", "circle", "track_follow_ups"])
async def test_patch_null_on_a_field_that_always_holds_a_value_is_422(client, alice, field):
    contact = await create(client, alice)
    r = await client.patch(f"/v1/contacts/{contact['id']}", json={field: None}, headers=alice)
    problem = assert_problem(r, 422)
    assert problem["errors"][0]["field"] == f"body.{field}"
    assert (await client.get(f"/v1/contacts/{contact['id']}", headers=alice)).json() == contact


@pytest.mark.parametrize(
    "patch",
    [
        {"id": str(uuid.uuid4())},
        {"version": 99},
        {"created_at": "2020-01-01T00:00:00Z"},
        {"circle": "enemy"},
        {"tags": "not-a-list"},
    ],
)
async def test_patch_of_server_owned_or_invalid_field_is_422_and_changes_nothing(
    client, alice, patch
):
    contact = await create(client, alice)
    url = f"/v1/contacts/{contact['id']}"
    assert_problem(await client.patch(url, json=patch, headers=alice), 422)
    assert (await client.get(url, headers=alice)).json() == contact


async def test_empty_patch_changes_nothing(client, alice):
    contact = await create(client, alice)
    r = await client.patch(f"/v1/contacts/{contact['id']}", json={}, headers=alice)
    assert r.status_code == 200
    assert r.json() == contact


async def test_version_grows_by_one_per_change(client, alice):
    contact = await create(client, alice)
    url = f"/v1/contacts/{contact['id']}"
    for expected, title in enumerate(["a", "b", "c"], start=2):
        r = await client.patch(url, json={"title": title}, headers=alice)
        assert r.json()["version"] == expected


# --- delete ---


async def test_delete_then_gone_from_reads_and_second_delete_is_404(client, alice):
    contact = await create(client, alice)
    url = f"/v1/contacts/{contact['id']}"
    r = await client.delete(url, headers=alice)
    assert r.status_code == 204 and r.content == b""
    assert_problem(await client.get(url, headers=alice), 404)
    assert_problem(await client.patch(url, json={"title": "x"}, headers=alice), 404)
    assert_problem(await client.delete(url, headers=alice), 404)
    assert (await client.get("/v1/contacts", headers=alice)).json()["items"] == []


# --- methods and routes ---


async def test_unsupported_method_is_405_with_allow(client, alice):
    r = await client.put("/v1/contacts", json={}, headers=alice)
    assert_problem(r, 405)
    assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "POST"}
    r = await client.post(f"/v1/contacts/{uuid.uuid4()}", json={}, headers=alice)
    assert_problem(r, 405)
    assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "PATCH", "DELETE"}


async def test_unknown_route_is_404_problem(client):
    assert_problem(await client.get("/v1/nothing-here"), 404)
