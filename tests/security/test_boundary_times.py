"""The edges of the accepted years (1900 and 2999) are served everywhere: never a 500.

The corpus proves that times outside those years are refused; this proves the ones inside are
not a trap either: rules derive due dates past them (a thank-you note 48 h after a meeting on
31 December 2999, a cadence of ten years), and reciprocity decays over ~1,100 years.
"""

from __future__ import annotations

import httpx
import pytest

FIRST = "1900-01-01T00:00:00Z"
LAST = "2999-12-31T23:59:59.999999Z"


@pytest.mark.parametrize("edge", [FIRST, LAST])
async def test_records_and_reads_at_the_edges_of_the_accepted_years(
    client: httpx.AsyncClient, alice: dict[str, str], edge: str
) -> None:
    r = await client.post(
        "/v1/contacts",
        headers=alice,
        json={"full_name": "Edge", "cadence_days": 3650, "snoozed_until": edge},
    )
    assert r.status_code == 201, r.text
    contact = r.json()["id"]
    writes = [
        (
            "/v1/interactions",
            {"contact_id": contact, "channel": "in_person", "kind": "meeting", "occurred_at": edge},
        ),
        (
            "/v1/interactions",
            {
                "contact_id": contact,
                "channel": "video",
                "status": "planned",
                "kind": "meeting",
                "time_proposed_by": "me",
                "occurred_at": edge,
            },
        ),
        (
            "/v1/asks",
            {
                "contact_id": contact,
                "direction": "outgoing",
                "kind": "job",
                "statement": "A job?",
                "status": "fulfilled",
                "due_at": edge,
            },
        ),
        (
            "/v1/asks",
            {
                "contact_id": contact,
                "direction": "incoming",
                "kind": "advice",
                "statement": "Advice?",
                "status": "accepted",
                "due_at": edge,
            },
        ),
        ("/v1/etiquette-tasks", {"contact_id": contact, "title": "Edge", "due_at": edge}),
    ]
    for url, body in writes:
        r = await client.post(url, headers=alice, json=body)
        assert r.status_code == 201, (url, r.text)
    r = await client.post("/v1/scheduler/run", headers=alice, json={"as_of": edge})
    assert r.status_code == 200, r.text
    for as_of in (FIRST, LAST):
        for url in ("/v1/follow-ups", "/v1/reciprocity", f"/v1/contacts/{contact}/reciprocity"):
            r = await client.get(url, headers=alice, params={"as_of": as_of})
            assert r.status_code == 200, (url, as_of, r.text)
    for url, params in [
        ("/v1/contacts", {"updated_since": edge}),
        ("/v1/interactions", {"occurred_after": FIRST, "occurred_before": LAST}),
        ("/v1/etiquette-tasks", {"due_before": LAST}),
        ("/v1/sync", {}),
        ("/v1/contacts/export", {"format": "vcf"}),
        ("/v1/contacts/export", {"format": "csv"}),
    ]:
        r = await client.get(url, headers=alice, params=params)
        assert r.status_code == 200, (url, r.text)
    r = await client.post("/v1/me/calendar-token", headers=alice)
    r = await client.get(r.json()["url"].replace("http://rapport.test", ""))
    assert r.status_code == 200, r.text
