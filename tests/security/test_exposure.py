"""Property-level exposure (OWASP API3): answers carry the public fields and nothing else.

Every table holds columns only the server reads — the owner, tombstones, sync stamps, the
maintained follow-up and reciprocity sums, match keys, password and feed-secret hashes, rule
keys. Each answer is checked against the exact set of fields the contract names, so a column
added to a table cannot reach clients by accident.
"""

from __future__ import annotations

import httpx

RECORD = {"id", "created_at", "updated_at", "version"}
PUBLIC = {
    "contact": RECORD
    | {
        "full_name",
        "email",
        "phone",
        "organization",
        "title",
        "field",
        "circle",
        "how_met",
        "tags",
        "notes",
        "role",
        "open_to",
        "cadence_days",
        "track_follow_ups",
        "snoozed_until",
    },
    "interaction": RECORD
    | {
        "contact_id",
        "channel",
        "kind",
        "status",
        "occurred_at",
        "objective",
        "summary",
        "time_proposed_by",
    },
    "ask": RECORD
    | {
        "contact_id",
        "direction",
        "kind",
        "statement",
        "researched",
        "status",
        "due_at",
        "resolved_at",
        "effort",
        "etiquette_warnings",
    },
    "task": RECORD
    | {
        "contact_id",
        "kind",
        "title",
        "due_at",
        "status",
        "completed_at",
        "source",
        "interaction_id",
        "ask_id",
    },
    "user": RECORD | {"email", "display_name", "timezone"},
}


async def test_every_answer_shows_exactly_the_public_fields(
    client: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    r = await client.post(
        "/v1/contacts",
        headers=alice,
        json={"full_name": "Ada", "email": "ada@example.com", "phone": "+44 20 7946 0958"},
    )
    contact = r.json()
    r = await client.post(
        "/v1/interactions",
        headers=alice,
        json={
            "contact_id": contact["id"],
            "channel": "in_person",
            "occurred_at": "2026-01-05T10:00:00Z",
        },
    )
    interaction = r.json()
    r = await client.post(
        "/v1/asks",
        headers=alice,
        json={
            "contact_id": contact["id"],
            "direction": "outgoing",
            "kind": "advice",
            "statement": "Advice?",
            "status": "fulfilled",
        },
    )
    ask = r.json()
    await client.post("/v1/me/calendar-token", headers=alice)
    await client.post("/v1/scheduler/run", headers=alice)

    answers: list[tuple[str, dict]] = [
        ("contact", contact),
        ("contact", (await client.get(f"/v1/contacts/{contact['id']}", headers=alice)).json()),
        ("interaction", interaction),
        ("ask", ask),
        ("user", (await client.get("/v1/me", headers=alice)).json()),
    ]
    for kind, url in [
        ("contact", "/v1/contacts"),
        ("interaction", "/v1/interactions"),
        ("ask", "/v1/asks"),
        ("task", "/v1/etiquette-tasks"),
    ]:
        items = (await client.get(url, headers=alice)).json()["items"]
        assert items, url
        answers += [(kind, item) for item in items]
    changes = (await client.get("/v1/sync", headers=alice)).json()["changes"]
    for kind, name in [
        ("contact", "contacts"),
        ("interaction", "interactions"),
        ("ask", "asks"),
        ("task", "etiquette_tasks"),
    ]:
        assert changes[name]["upserted"], name
        answers += [(kind, record) for record in changes[name]["upserted"]]

    for kind, answer in answers:
        assert set(answer) == PUBLIC[kind], (kind, set(answer) ^ PUBLIC[kind])


async def test_register_and_sign_in_never_show_hashes(client: httpx.AsyncClient) -> None:
    body = {"email": "eve@example.com", "password": "correct horse battery"}
    r = await client.post("/v1/auth/register", json=body)
    assert set(r.json()) == PUBLIC["user"]
    assert "correct horse battery" not in r.text and "argon2" not in r.text
    r = await client.post(
        "/v1/auth/token", data={"username": body["email"], "password": body["password"]}
    )
    assert set(r.json()) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert "argon2" not in r.text
