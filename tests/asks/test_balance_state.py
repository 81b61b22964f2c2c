"""The reciprocity each contact keeps (app/asks/balance.py) under concurrent and varied writes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

WEIGHTS = {"advice": 1, "feedback": 2, "referral": 3}


async def _contact(client, headers) -> str:
    r = await client.post("/v1/contacts", json={"full_name": "Ann Lee"}, headers=headers)
    return r.json()["id"]


async def _ask(client, headers, contact_id, direction, kind, status="fulfilled", effort=None):
    body = {
        "contact_id": contact_id,
        "direction": direction,
        "kind": kind,
        "statement": "Could you help?",
        "status": status,
        "effort": effort,
    }
    r = await client.post("/v1/asks", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def _balance(client, headers, contact_id, as_of=None) -> dict:
    params = {"as_of": as_of.isoformat()} if as_of else {}
    r = await client.get(f"/v1/contacts/{contact_id}/reciprocity", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_concurrent_fulfilled_asks_on_one_contact_all_count(client, alice):
    contact_id = await _contact(client, alice)
    kinds = ["advice", "feedback", "referral"] * 4
    made = await asyncio.gather(
        *(
            _ask(client, alice, contact_id, "incoming" if i % 3 else "outgoing", kind)
            for i, kind in enumerate(kinds)
        )
    )
    given = sum(WEIGHTS[a["kind"]] for a in made if a["direction"] == "incoming")
    received = sum(WEIGHTS[a["kind"]] for a in made if a["direction"] == "outgoing")
    now = await _balance(client, alice, contact_id)
    # Resolved moments ago: decay over seconds is below the rounding of the answer.
    assert now["given"] == pytest.approx(given, rel=1e-6)
    assert now["received"] == pytest.approx(received, rel=1e-6)


async def test_reweighing_reopening_and_deleting_a_fulfilled_ask_move_the_balance(client, alice):
    contact_id = await _contact(client, alice)
    ask = await _ask(client, alice, contact_id, "outgoing", "advice")
    url = f"/v1/asks/{ask['id']}"
    assert (await _balance(client, alice, contact_id))["received"] == pytest.approx(1, rel=1e-6)

    r = await client.patch(url, json={"effort": 5}, headers=alice)
    assert r.status_code == 200
    assert (await _balance(client, alice, contact_id))["received"] == pytest.approx(5, rel=1e-6)

    r = await client.patch(url, json={"kind": "referral", "effort": None}, headers=alice)
    assert r.status_code == 200
    assert (await _balance(client, alice, contact_id))["received"] == pytest.approx(3, rel=1e-6)

    r = await client.patch(url, json={"status": "open"}, headers=alice)
    assert r.status_code == 200
    assert (await _balance(client, alice, contact_id))["stance"] == "none"

    r = await client.patch(url, json={"status": "fulfilled"}, headers=alice)
    assert (await _balance(client, alice, contact_id))["stance"] == "taking"
    r = await client.delete(url, headers=alice)
    assert r.status_code == 204
    after = await _balance(client, alice, contact_id)
    assert (after["given"], after["received"], after["stance"]) == (0, 0, "none")


async def test_a_moment_before_the_last_resolution_is_summed_from_the_asks(client, alice):
    contact_id = await _contact(client, alice)
    before_any = datetime.now(UTC) - timedelta(seconds=1)
    await _ask(client, alice, contact_id, "incoming", "referral")
    past = await _balance(client, alice, contact_id, before_any)
    assert (past["given"], past["stance"]) == (0, "none")
    r = await client.get("/v1/reciprocity", params={"as_of": before_any.isoformat()}, headers=alice)
    assert r.json()["contacts"] == [] and r.json()["network"]["stance"] == "none"
    later = await _balance(client, alice, contact_id, datetime.now(UTC) + timedelta(days=365))
    assert later["given"] == pytest.approx(1.5, rel=1e-6)  # one half-life on
