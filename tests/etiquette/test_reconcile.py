"""The scheduler run re-applies rules 1–4 to recently changed records (a safety net)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from tests.lists import walk


def _rule_tasks(items: list[dict]) -> list[tuple]:
    # Rules 3 and 4 are due "now" when their date has passed, so their due date moves with now.
    return sorted(
        (
            t["kind"],
            t["title"],
            t["due_at"] if t["kind"] not in {"confirm_meeting_time", "set_objective"} else None,
            t["interaction_id"],
            t["ask_id"],
            t["status"],
        )
        for t in items
        if t["kind"] not in {"reconnect", "offer_help"}
    )


async def _record_each_rule(client, headers) -> str:
    r = await client.post("/v1/contacts", json={"full_name": "Ann Lee"}, headers=headers)
    contact_id = r.json()["id"]
    now = datetime.now(UTC)
    for body in (
        {"channel": "in_person", "occurred_at": now.isoformat()},  # rule 1
        {  # rules 3 and 4: a planned meeting, my time, no objective
            "channel": "video",
            "kind": "meeting",
            "status": "planned",
            "occurred_at": (now + timedelta(hours=30)).isoformat(),
            "time_proposed_by": "me",
        },
    ):
        r = await client.post(
            "/v1/interactions", json={"contact_id": contact_id, **body}, headers=headers
        )
        assert r.status_code == 201, r.text
    r = await client.post(  # rule 2
        "/v1/asks",
        json={
            "contact_id": contact_id,
            "direction": "outgoing",
            "kind": "advice",
            "statement": "How did you move into compilers?",
            "status": "fulfilled",
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return contact_id


async def _delete_tasks_behind_the_api(app) -> None:
    async with app.state.runtime.db.writer.begin() as conn:
        await conn.execute(text("DELETE FROM etiquette_tasks"))


async def test_a_run_recreates_rule_tasks_missing_from_recent_records(client, alice, app):
    await _record_each_rule(client, alice)
    written = _rule_tasks(await walk(client, alice, url="/v1/etiquette-tasks"))
    assert [t[0] for t in written] == [
        "confirm_meeting_time",
        "set_objective",
        "thank_you_note",
        "thank_you_note",
    ]
    await _delete_tasks_behind_the_api(app)

    r = await client.post("/v1/scheduler/run", headers=alice)
    assert r.status_code == 200, r.text
    assert _rule_tasks(await walk(client, alice, url="/v1/etiquette-tasks")) == written

    again = await client.post("/v1/scheduler/run", headers=alice)
    assert again.json()["tasks_created"] == 0


async def test_a_run_never_recreates_a_task_the_user_closed_or_deleted(client, alice):
    await _record_each_rule(client, alice)
    tasks = await walk(client, alice, url="/v1/etiquette-tasks")
    done, deleted = tasks[0], tasks[1]
    r = await client.patch(
        f"/v1/etiquette-tasks/{done['id']}", json={"status": "done"}, headers=alice
    )
    assert r.status_code == 200
    r = await client.delete(f"/v1/etiquette-tasks/{deleted['id']}", headers=alice)
    assert r.status_code == 204

    await client.post("/v1/scheduler/run", headers=alice)
    after = await walk(client, alice, url="/v1/etiquette-tasks")
    rule_kinds = [t for t in after if t["source"] == "rule" and t["kind"] != "offer_help"]
    assert len(rule_kinds) == len(tasks) - 1
    assert {t["id"] for t in after if t["status"] == "done"} == {done["id"]}


async def test_records_unchanged_for_a_week_are_not_rechecked(client, alice, app):
    await _record_each_rule(client, alice)
    await _delete_tasks_behind_the_api(app)
    long_ago = datetime.now(UTC) - timedelta(days=8)
    sqlite = app.state.runtime.db.dialect == "sqlite"
    stored = long_ago.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else long_ago
    async with app.state.runtime.db.writer.begin() as conn:
        for table in ("interactions", "asks"):
            await conn.execute(text(f"UPDATE {table} SET updated_at = :t"), {"t": stored})

    r = await client.post("/v1/scheduler/run", headers=alice)
    assert r.status_code == 200
    assert _rule_tasks(await walk(client, alice, url="/v1/etiquette-tasks")) == []
