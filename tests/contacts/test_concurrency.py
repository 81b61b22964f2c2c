"""Concurrent writers: one winner under If-Match, no lost updates without it."""

from __future__ import annotations

import asyncio

from tests.contacts.test_router import create


async def test_sixteen_patches_with_the_same_if_match_have_exactly_one_winner(client, alice):
    contact = await create(client, alice)
    url = f"/v1/contacts/{contact['id']}"

    async def patch(i: int):
        return await client.patch(
            url, json={"title": f"T{i}"}, headers={**alice, "If-Match": '"1"'}
        )

    responses = await asyncio.gather(*(patch(i) for i in range(16)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * 15, statuses
    winner = next(r.json() for r in responses if r.status_code == 200)
    current = (await client.get(url, headers=alice)).json()
    assert current["version"] == 2 and current["title"] == winner["title"]


async def test_concurrent_patches_of_different_fields_lose_nothing(client, alice):
    contact = await create(client, alice)
    url = f"/v1/contacts/{contact['id']}"
    fields = ["title", "organization", "field", "how_met", "notes", "phone", "email"]

    async def patch(name: str):
        return await client.patch(url, json={name: f"{name}-value"}, headers=alice)

    responses = await asyncio.gather(*(patch(name) for name in fields))
    assert all(r.status_code == 200 for r in responses)
    current = (await client.get(url, headers=alice)).json()
    assert current["version"] == 1 + len(fields)
    for name in fields:
        assert current[name] == f"{name}-value", name
