"""A client's offline copy, kept by the sync feed."""

from __future__ import annotations

from typing import Any

import httpx

RESOURCES = ("contacts", "interactions", "asks", "etiquette_tasks")
LISTS = {
    "contacts": "/v1/contacts",
    "interactions": "/v1/interactions",
    "asks": "/v1/asks",
    "etiquette_tasks": "/v1/etiquette-tasks",
}


class Replica:
    """What a mobile app keeps: records by id per resource, and the last cursor."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in RESOURCES}
        self.cursor: str | None = None
        self.pages = 0

    def apply(self, page: dict[str, Any]) -> None:
        for name in RESOURCES:
            changes = page["changes"][name]
            for record in changes["upserted"]:
                self.records[name][record["id"]] = record
            for record_id in changes["deleted"]:
                self.records[name].pop(record_id, None)
        self.cursor = page["cursor"]
        self.pages += 1


def comparable(name: str, record: dict[str, Any]) -> dict[str, Any]:
    # Warnings are computed from other records when read, not stored: they are not the ask's.
    return {k: v for k, v in record.items() if not (name == "asks" and k == "etiquette_warnings")}


async def sync(
    client: httpx.AsyncClient, headers: dict[str, str], replica: Replica, limit: int = 200
) -> None:
    """Pull until `has_more` is false."""
    while True:
        params: dict[str, Any] = {"limit": limit}
        if replica.cursor is not None:
            params["cursor"] = replica.cursor
        r = await client.get("/v1/sync", params=params, headers=headers)
        assert r.status_code == 200, r.text
        replica.apply(r.json())
        if not r.json()["has_more"]:
            return


async def server_state(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """Everything the user has, read through the list endpoints (not the feed)."""
    state: dict[str, dict[str, dict[str, Any]]] = {}
    for name, path in LISTS.items():
        state[name] = {}
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 200}
            if cursor:
                params["cursor"] = cursor
            r = await client.get(path, params=params, headers=headers)
            assert r.status_code == 200, r.text
            for item in r.json()["items"]:
                state[name][item["id"]] = item
            cursor = r.json()["next_cursor"]
            if cursor is None:
                break
    return state


def assert_same(replica: Replica, state: dict[str, dict[str, dict[str, Any]]]) -> None:
    for name in RESOURCES:
        mine = {k: comparable(name, v) for k, v in replica.records[name].items()}
        theirs = {k: comparable(name, v) for k, v in state[name].items()}
        assert mine.keys() == theirs.keys(), (name, mine.keys() ^ theirs.keys())
        assert mine == theirs, name
