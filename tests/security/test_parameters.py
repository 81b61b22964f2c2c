"""A query parameter given twice is refused: Starlette would read the last, a proxy the first."""

from __future__ import annotations

import httpx


async def test_a_repeated_parameter_is_422_naming_it(
    client: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    r = await client.get("/v1/contacts?limit=1&circle=friend&limit=2&circle=other", headers=alice)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"] == [
        {
            "field": f"query.{name}",
            "message": "Give this parameter at most once.",
            "code": "repeated_parameter",
        }
        for name in ("circle", "limit")
    ]


async def test_parameters_the_route_does_not_take_are_still_ignored(
    client: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    r = await client.get("/v1/contacts?utm=a&utm=b&limit=5", headers=alice)
    assert r.status_code == 200 and r.json()["items"] == []
