"""Listing contacts: filters and cursor pagination that holds under concurrent writes."""

from __future__ import annotations

import base64
from functools import partial

import pytest

from tests import lists
from tests.contacts.test_router import assert_problem, create

walk = partial(lists.walk, url="/v1/contacts")


async def test_pages_cover_every_contact_once_and_last_cursor_is_null(client, alice):
    ids = [(await create(client, alice, full_name=f"P{i}"))["id"] for i in range(7)]
    r = await client.get("/v1/contacts", params={"limit": 3}, headers=alice)
    first = r.json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    seen = await walk(client, alice, limit=3)
    assert [c["id"] for c in seen] == ids
    r = await client.get("/v1/contacts", params={"limit": 7}, headers=alice)
    assert r.json()["next_cursor"] is None


async def test_default_limit_is_50(client, alice):
    for i in range(51):
        await create(client, alice, full_name=f"P{i}")
    page = (await client.get("/v1/contacts", headers=alice)).json()
    assert len(page["items"]) == 50 and page["next_cursor"]


@pytest.mark.parametrize("limit", [0, -1, 201, "ten"])
async def test_limit_out_of_range_is_422(client, alice, limit):
    r = await client.get("/v1/contacts", params={"limit": limit}, headers=alice)
    assert assert_problem(r, 422)["errors"][0]["field"] == "query.limit"


async def test_paging_is_stable_under_concurrent_inserts_and_deletes(client, alice):
    created = [await create(client, alice, full_name=f"P{i}") for i in range(6)]
    r = await client.get("/v1/contacts", params={"limit": 2}, headers=alice)
    page = r.json()
    seen = [c["id"] for c in page["items"]]
    # Meanwhile: an item already served and one not yet served are deleted, one is added.
    await client.delete(f"/v1/contacts/{created[0]['id']}", headers=alice)
    await client.delete(f"/v1/contacts/{created[4]['id']}", headers=alice)
    added = await create(client, alice, full_name="Late")
    cursor = page["next_cursor"]
    while cursor:
        page = (
            await client.get("/v1/contacts", params={"limit": 2, "cursor": cursor}, headers=alice)
        ).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)), "an item was served twice"
    expected = [c["id"] for c in created if c["id"] != created[4]["id"]] + [added["id"]]
    assert seen == expected


async def test_tampered_cursor_is_400(client, alice):
    for i in range(3):
        await create(client, alice, full_name=f"P{i}")
    cursor = (await client.get("/v1/contacts?limit=1", headers=alice)).json()["next_cursor"]
    body, signature = cursor.split(".")
    payload = base64.urlsafe_b64decode(body + "==").replace(b'"t":"', b'"t":"1')
    forged = base64.urlsafe_b64encode(payload).rstrip(b"=").decode() + "." + signature
    for bad in [forged, cursor[:-2] + "xx", "garbage", "a.b.c", "", "x" * 5000]:
        r = await client.get("/v1/contacts", params={"cursor": bad, "limit": 1}, headers=alice)
        assert_problem(r, 400)


async def test_cursor_from_other_filters_is_400(client, alice):
    for i in range(3):
        await create(client, alice, full_name=f"P{i}", circle="friend")
    cursor = (await client.get("/v1/contacts?limit=1", headers=alice)).json()["next_cursor"]
    r = await client.get(
        "/v1/contacts", params={"cursor": cursor, "limit": 1, "circle": "friend"}, headers=alice
    )
    assert_problem(r, 400)


async def test_cursor_of_another_user_lists_nothing_of_theirs(client, alice, bob):
    for i in range(3):
        await create(client, alice, full_name=f"P{i}")
    cursor = (await client.get("/v1/contacts?limit=1", headers=alice)).json()["next_cursor"]
    r = await client.get("/v1/contacts", params={"cursor": cursor, "limit": 1}, headers=bob)
    # A cursor names its owner: another user's is refused (as sync cursors are), rather than
    # paging Bob's own contacts from a position in Alice's list.
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert "P1" not in r.text and "P2" not in r.text


async def test_q_matches_name_organization_email_and_tags_case_insensitively(client, alice):
    by_name = await create(client, alice, full_name="Margaret Hamilton")
    by_org = await create(client, alice, full_name="X", organization="MIT Instrumentation Lab")
    by_email = await create(client, alice, full_name="Y", email="hamster@example.com")
    by_tag = await create(client, alice, full_name="Z", tags=["HAMburg"])
    await create(client, alice, full_name="Unrelated", notes="ham in notes is not searched")
    found = {c["id"] for c in await walk(client, alice, q="ham")}
    assert found == {by_name["id"], by_email["id"], by_tag["id"]}
    found = {c["id"] for c in await walk(client, alice, q="instrumentation")}
    assert found == {by_org["id"]}


async def test_q_takes_like_wildcards_literally(client, alice):
    literal = await create(client, alice, full_name="100% Ada_L")
    await create(client, alice, full_name="1000 AdaXL")
    assert [c["id"] for c in await walk(client, alice, q="0% Ada_")] == [literal["id"]]
    assert [c["id"] for c in await walk(client, alice, q="_")] == [literal["id"]]
    assert await walk(client, alice, q="'; DROP TABLE contacts; --") == []


async def test_filter_by_circle_tag_and_updated_since(client, alice):
    friend = await create(client, alice, full_name="F", circle="friend", tags=["rust"])
    await create(client, alice, full_name="C", circle="coworker", tags=["rust-lang"])
    assert [c["id"] for c in await walk(client, alice, circle="friend")] == [friend["id"]]
    assert [c["id"] for c in await walk(client, alice, tag="rust")] == [friend["id"]]
    assert await walk(client, alice, tag="RUST") == []  # tags match exactly

    r = await client.patch(f"/v1/contacts/{friend['id']}", json={"title": "x"}, headers=alice)
    since = r.json()["updated_at"]
    assert [c["id"] for c in await walk(client, alice, updated_since=since)] == [friend["id"]]
    r = await client.get(
        "/v1/contacts", params={"updated_since": "2026-01-01T00:00:00"}, headers=alice
    )
    assert_problem(r, 422)


async def test_unknown_circle_filter_is_422(client, alice):
    assert_problem(await client.get("/v1/contacts?circle=enemy", headers=alice), 422)


async def test_nul_in_query_is_422(client, alice):
    assert_problem(await client.get("/v1/contacts", params={"q": "a\x00b"}, headers=alice), 422)
