"""Reading list endpoints in tests: every page, or the ids of one page."""

from __future__ import annotations

import httpx


async def walk(
    client: httpx.AsyncClient, headers: dict[str, str], *, url: str, **params: object
) -> list[dict]:
    """Every item of a list, following `next_cursor` to the end."""
    items: list[dict] = []
    cursor = None
    for _ in range(1000):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = await client.get(url, params=query, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= int(params.get("limit", 50))  # type: ignore[call-overload]
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


async def listed_ids(
    client: httpx.AsyncClient, headers: dict[str, str], *, url: str, **params: object
) -> list[str]:
    """Ids on one page of the list (callers keep the data set under the page size)."""
    r = await client.get(url, params={"limit": 200, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["items"]]
