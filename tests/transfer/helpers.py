"""Uploading files and reading contacts back, for the import and export tests."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.lists import walk

SAMPLES = Path(__file__).parent / "samples"
PROBLEM = "application/problem+json"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    content: bytes,
    filename: str = "contacts.vcf",
    content_type: str = "application/octet-stream",
    **kwargs: object,
) -> httpx.Response:
    return await client.post(
        "/v1/contacts/import",
        files={"file": (filename, content, content_type)},
        headers=headers,
        **kwargs,  # type: ignore[arg-type]
    )


async def imported(
    client: httpx.AsyncClient, headers: dict[str, str], content: bytes, **kwargs: object
) -> dict:
    r = await upload(client, headers, content, **kwargs)  # type: ignore[arg-type]
    assert r.status_code == 200, r.text
    report: dict = r.json()
    return report


async def contacts(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict]:
    return await walk(client, headers, url="/v1/contacts", limit=200)


async def by_name(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, dict]:
    return {c["full_name"]: c for c in await contacts(client, headers)}


def assert_problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict = r.json()
    assert body["status"] == status and body["type"] and body["detail"]
    return body
