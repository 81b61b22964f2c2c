"""`Encoder` writes a record exactly as its response model would, from whatever the record is:
an ORM instance, a row, or a row in its stored form (SQLite's text for uuids, times and JSON
arrays). Lists and the sync feed read stored-form rows on SQLite; single GETs read rows."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import select

from app.contacts.models import Contact, ContactPublic
from app.core.db import stored_form, stored_time, stored_uuid
from app.core.http import Encoder, _time_text, _uuid_text
from app.etiquette.models import EtiquetteTask, TaskPublic
from app.interactions.models import Interaction, InteractionPublic
from tests.contacts.test_router import create
from tests.etiquette.test_router import create_task
from tests.interactions.test_router import create_interaction


def test_stored_text_is_written_as_the_model_writes_it() -> None:
    assert _time_text("2026-01-02 03:04:05.000000") == "2026-01-02T03:04:05Z"
    assert _time_text("2026-01-02 03:04:05.000100") == "2026-01-02T03:04:05.000100Z"
    # Anything else SQLite might hold is parsed, as UTC when it has no offset.
    assert _time_text("2026-01-02 03:04:05") == "2026-01-02T03:04:05Z"
    assert _time_text("2026-01-02T03:04:05.5+00:00") == "2026-01-02T03:04:05.500000Z"
    some = uuid.uuid4()
    assert _uuid_text(some.hex) == _uuid_text(some.hex.upper()) == str(some)
    assert _uuid_text(str(some)) == _uuid_text(some) == str(some)
    assert stored_uuid(some.hex) == stored_uuid(some) == some
    assert stored_time("2026-01-02 03:04:05.000100").isoformat() == (
        "2026-01-02T03:04:05.000100+00:00"
    )
    assert stored_time("2026-01-02T05:04:05+02:00").isoformat() == "2026-01-02T03:04:05+00:00"


async def _records(client: httpx.AsyncClient, alice: dict[str, str]) -> None:
    """Records whose values take every path: times with and without a fraction, empty and
    non-ASCII JSON arrays, nulls."""
    contact = await create(
        client,
        alice,
        full_name='Zoë "Z" O\'Neil',
        tags=["café", 'say "hi"', "\\"],
        open_to=["advice", "feedback"],
        snoozed_until="2031-05-06T07:08:09Z",
        cadence_days=45,
    )
    await create(client, alice, full_name="Plain")
    await create_interaction(
        client, alice, contact["id"], occurred_at="2026-03-04T05:06:07.123456Z"
    )
    await create_interaction(client, alice, contact["id"], occurred_at="2026-03-05T00:00:00Z")
    await create_task(client, alice, contact["id"], due_at="2027-01-01T00:00:00Z")
    await create_task(client, alice, contact["id"])


def _expected(model: type[BaseModel], instance: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        model.model_validate(instance, from_attributes=True).model_dump_json()
    )
    return loaded


@pytest.mark.parametrize(
    ("table", "public"),
    [(Contact, ContactPublic), (Interaction, InteractionPublic), (EtiquetteTask, TaskPublic)],
)
async def test_encoder_matches_the_model_from_instances_rows_and_stored_rows(
    app: FastAPI,
    client: httpx.AsyncClient,
    alice: dict[str, str],
    table: Any,
    public: type[BaseModel],
) -> None:
    await _records(client, alice)
    db = app.state.runtime.db
    columns = [table.__table__.c[name] for name in public.model_fields]
    encoder = Encoder(public)
    async with db.read_sessions() as session:
        instances = list((await session.exec(select(table).order_by(table.id))).scalars())
        rows = list((await session.exec(select(*columns).order_by(table.id))).all())
        stored = list(
            (await session.exec(select(*stored_form(columns, db.dialect)).order_by(table.id))).all()
        )
    assert len(instances) >= 2
    expected = [_expected(public, instance) for instance in instances]
    if db.dialect == "sqlite":  # the stored form is text there, and only there
        assert isinstance(stored[0].id, str) and isinstance(stored[0].created_at, str)
    for made in (
        [encoder(instance) for instance in instances],
        encoder.many(instances),
        encoder.many(rows),
        encoder.many(stored),
        [encoder(row) for row in stored],
    ):
        assert json.loads(json.dumps(made)) == expected


async def test_lists_and_the_sync_feed_show_what_single_reads_show(
    client: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    await _records(client, alice)
    for url in ("/v1/contacts", "/v1/interactions", "/v1/etiquette-tasks"):
        items = (await client.get(url, params={"limit": 1}, headers=alice)).json()
        # A page of one, then the next through its cursor (made from a stored-form row).
        listed = items["items"]
        nxt = (
            await client.get(
                url, params={"limit": 1, "cursor": items["next_cursor"]}, headers=alice
            )
        ).json()
        listed += nxt["items"]
        assert len({item["id"] for item in listed}) == 2
        for item in listed:
            single = await client.get(f"{url}/{item['id']}", headers=alice)
            assert single.json() == item
    feed = (await client.get("/v1/sync", headers=alice)).json()["changes"]
    for name, url in (
        ("contacts", "/v1/contacts"),
        ("interactions", "/v1/interactions"),
        ("etiquette_tasks", "/v1/etiquette-tasks"),
    ):
        upserted = feed[name]["upserted"]
        assert upserted
        for item in upserted:
            assert (await client.get(f"{url}/{item['id']}", headers=alice)).json() == item
