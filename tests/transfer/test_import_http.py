"""The import endpoint over HTTP: authentication, media types, idempotency, what it writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from app.core.vocabulary import CIRCLE_CADENCE_DAYS, Circle
from tests.contacts.test_follow_up_state import stored_state
from tests.transfer.helpers import assert_problem, contacts, imported, sample, upload


async def test_anonymous_import_is_401(client):
    r = await upload(client, {}, sample("contacts_v4.vcf"))
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_a_body_that_is_not_multipart_is_415(client, alice):
    r = await client.post(
        "/v1/contacts/import",
        content=sample("contacts_v4.vcf"),
        headers={**alice, "Content-Type": "text/vcard"},
    )
    assert_problem(r, 415)
    r = await client.post("/v1/contacts/import", json={"file": "x"}, headers=alice)
    assert_problem(r, 415)


async def test_a_form_without_the_file_field_is_422(client, alice):
    r = await client.post(
        "/v1/contacts/import",
        files={"upload": ("c.vcf", sample("contacts_v4.vcf"), "text/vcard")},
        headers=alice,
    )
    body = assert_problem(r, 422)
    assert body["errors"][0]["field"] == "body.file"
    # `file` as a plain form field rather than a file.
    r = await client.post(
        "/v1/contacts/import",
        data={"file": "not a file"},
        files={"other": ("o.txt", b"x", "text/plain")},
        headers=alice,
    )
    assert_problem(r, 422)
    r = await client.post("/v1/contacts/import", data={"file": "x"}, headers=alice)
    assert_problem(r, 415)  # a urlencoded form is not multipart


async def test_imported_contacts_are_listed_and_followed_up_like_created_ones(client, app, alice):
    await imported(client, alice, sample("linkedin_connections.csv"))
    people = await contacts(client, alice)
    assert len(people) == 3
    for person in people:
        assert person["version"] == 1
        assert person["track_follow_ups"] is True
        last, due = await stored_state(app, person["id"])
        created = datetime.fromisoformat(person["created_at"].replace("Z", "+00:00"))
        assert last is None
        assert due == created + timedelta(days=CIRCLE_CADENCE_DAYS[Circle.online])
    # …so they come due like any other contact.
    as_of = (datetime.now(UTC) + timedelta(days=91)).isoformat().replace("+00:00", "Z")
    r = await client.get("/v1/follow-ups", params={"as_of": as_of}, headers=alice)
    assert r.status_code == 200, r.text
    reconnect = {i["contact_id"] for i in r.json()["items"] if i["type"] == "reconnect"}
    assert reconnect == {p["id"] for p in people}


async def test_match_keys_are_kept_on_created_contacts(client, app, alice):
    await imported(client, alice, sample("contacts_v3.vcf"))
    db = app.state.runtime.db
    async with db.reader.connect() as conn:
        rows = (
            await conn.execute(text("SELECT email_key, phone_key FROM contacts ORDER BY email_key"))
        ).all()
    assert [tuple(r) for r in rows] == [
        ("bruce@example.hk", "+85221234567"),
        ("grace@navy.example", "+12025550147"),
        ("zoe.angstrom@example.se", "+46701234567"),
    ]


def multipart(content: bytes) -> tuple[bytes, str]:
    boundary = "rapport-test-boundary"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="c.vcf"\r\n'
            "Content-Type: text/vcard\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


async def test_idempotent_replay_imports_nothing_twice(client, alice):
    body, content_type = multipart(sample("contacts_v3.vcf"))
    headers = {**alice, "Content-Type": content_type, "Idempotency-Key": "import-1"}
    first = await client.post("/v1/contacts/import", content=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["created"] == 3
    again = await client.post("/v1/contacts/import", content=body, headers=headers)
    assert again.status_code == 200
    assert again.json() == first.json()  # the first answer, not "3 skipped"
    assert len(await contacts(client, alice)) == 3
    other, _ = multipart(sample("contacts_v4.vcf"))
    r = await client.post("/v1/contacts/import", content=other, headers=headers)
    assert_problem(r, 422)  # the same key with another file


@pytest.mark.parametrize("name", ["google_contacts.csv", "contacts_v3.vcf"])
async def test_the_file_name_does_not_decide_the_format(client, alice, name):
    report = await imported(client, alice, sample(name), filename="export.dat")
    assert report["created"] == 3
