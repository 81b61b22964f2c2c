"""Imports of one user at once: each contact is created once, and no update is lost."""

from __future__ import annotations

import asyncio

from tests.transfer.helpers import contacts, sample, upload


async def test_the_same_file_imported_twice_at_once_creates_each_contact_once(client, alice):
    results = await asyncio.gather(
        *(upload(client, alice, sample("google_contacts.csv")) for _ in range(4))
    )
    assert [r.status_code for r in results] == [200] * 4, [r.text for r in results]
    assert sorted(r.json()["created"] for r in results) == [0, 0, 0, 3]
    assert len(await contacts(client, alice)) == 3


async def test_import_and_patch_of_one_contact_at_once_lose_nothing(client, alice):
    r = await client.post(
        "/v1/contacts", json={"full_name": "Ada", "email": "ada@example.co.uk"}, headers=alice
    )
    ada = r.json()
    card = b"BEGIN:VCARD\r\nFN:Ada\r\nEMAIL:ada@example.co.uk\r\nTITLE:Analyst\r\nEND:VCARD\r\n"
    patched, imported = await asyncio.gather(
        client.patch(f"/v1/contacts/{ada['id']}", json={"notes": "n"}, headers=alice),
        upload(client, alice, card),
    )
    assert patched.status_code == 200 and imported.status_code == 200
    [after] = await contacts(client, alice)
    assert after["notes"] == "n" and after["title"] == "Analyst"
    assert after["version"] == 3
