"""The follow-up state kept on each contact stays equal to what its interactions say.

`last_contacted_at` and `follow_up_due_at` are server-maintained (app/contacts/follow_up.py):
these tests read them from the database and recompute them from the records the API returns,
after random sequences of writes and under concurrent writers.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from app.core.vocabulary import CIRCLE_CADENCE_DAYS, Circle
from tests.conftest import sign_up
from tests.lists import walk

BASE = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def stored_state(app, contact_id: str) -> tuple[datetime | None, datetime | None]:
    db = app.state.runtime.db
    key = uuid.UUID(contact_id).hex if db.dialect == "sqlite" else uuid.UUID(contact_id)
    async with db.reader.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT last_contacted_at, follow_up_due_at FROM contacts WHERE id = :id"),
                {"id": key},
            )
        ).one()

    def as_utc(value):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    return as_utc(row[0]), as_utc(row[1])


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def expected_state(client, headers, contact: dict) -> tuple[datetime | None, datetime]:
    interactions = await walk(
        client, headers, url="/v1/interactions", contact_id=contact["id"], limit=200
    )
    completed = [parse(i["occurred_at"]) for i in interactions if i["status"] == "completed"]
    last = max(completed, default=None)
    cadence = contact["cadence_days"] or CIRCLE_CADENCE_DAYS[Circle(contact["circle"])]
    return last, (last or parse(contact["created_at"])) + timedelta(days=cadence)


async def assert_consistent(client, headers, app, contact_id: str) -> None:
    contact = (await client.get(f"/v1/contacts/{contact_id}", headers=headers)).json()
    assert await stored_state(app, contact_id) == await expected_state(client, headers, contact)


OFFSETS = st.integers(min_value=-400, max_value=30).map(lambda d: BASE + timedelta(days=d))
STATUSES = st.sampled_from(["planned", "completed", "cancelled"])
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("create"), OFFSETS, STATUSES),
        st.tuples(st.just("patch"), st.integers(0, 10), OFFSETS, STATUSES),
        st.tuples(st.just("delete"), st.integers(0, 10)),
        st.tuples(st.just("cadence"), st.one_of(st.none(), st.integers(1, 400))),
        st.tuples(st.just("circle"), st.sampled_from([c.value for c in Circle])),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
async def test_any_sequence_of_writes_keeps_the_stored_due_date_exact(client, app, steps):
    headers = await sign_up(client)
    r = await client.post("/v1/contacts", json={"full_name": "Ann Lee"}, headers=headers)
    contact_id = r.json()["id"]
    ids: list[str] = []
    for step in steps:
        if step[0] == "create":
            _, at, status = step
            r = await client.post(
                "/v1/interactions",
                json={
                    "contact_id": contact_id,
                    "channel": "email",
                    "status": status,
                    "occurred_at": at.isoformat(),
                },
                headers=headers,
            )
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        elif step[0] == "patch" and ids:
            _, index, at, status = step
            r = await client.patch(
                f"/v1/interactions/{ids[index % len(ids)]}",
                json={"occurred_at": at.isoformat(), "status": status},
                headers=headers,
            )
            assert r.status_code == 200, r.text
        elif step[0] == "delete" and ids:
            r = await client.delete(
                f"/v1/interactions/{ids.pop(step[1] % len(ids))}", headers=headers
            )
            assert r.status_code == 204, r.text
        elif step[0] in {"cadence", "circle"}:
            field = "cadence_days" if step[0] == "cadence" else "circle"
            r = await client.patch(
                f"/v1/contacts/{contact_id}", json={field: step[1]}, headers=headers
            )
            assert r.status_code == 200, r.text
        await assert_consistent(client, headers, app, contact_id)


async def test_concurrent_interactions_on_one_contact_leave_the_latest_time(client, alice, app):
    r = await client.post("/v1/contacts", json={"full_name": "Ann Lee"}, headers=alice)
    contact_id = r.json()["id"]
    times = [BASE - timedelta(days=d, minutes=7 * d) for d in range(12)]

    async def log(at: datetime):
        return await client.post(
            "/v1/interactions",
            json={"contact_id": contact_id, "channel": "phone", "occurred_at": at.isoformat()},
            headers=alice,
        )

    for _ in range(3):  # several rounds, to give a race a chance
        responses = await asyncio.gather(*(log(at) for at in reversed(times)))
        assert all(r.status_code == 201 for r in responses)
        await assert_consistent(client, alice, app, contact_id)
    last, _ = await stored_state(app, contact_id)
    assert last == max(times)


async def test_concurrent_deletes_and_completions_stay_consistent(client, alice, app):
    r = await client.post("/v1/contacts", json={"full_name": "Ann Lee"}, headers=alice)
    contact_id = r.json()["id"]
    created = []
    for d in range(8):
        r = await client.post(
            "/v1/interactions",
            json={
                "contact_id": contact_id,
                "channel": "video",
                "status": "planned",
                "occurred_at": (BASE - timedelta(days=d)).isoformat(),
            },
            headers=alice,
        )
        created.append(r.json()["id"])

    async def complete(interaction_id: str):
        return await client.patch(
            f"/v1/interactions/{interaction_id}", json={"status": "completed"}, headers=alice
        )

    async def delete(interaction_id: str):
        return await client.delete(f"/v1/interactions/{interaction_id}", headers=alice)

    work = [complete(i) for i in created[::2]] + [delete(i) for i in created[1::2]]
    responses = await asyncio.gather(*work)
    assert all(r.status_code in {200, 204} for r in responses)
    await assert_consistent(client, alice, app, contact_id)
