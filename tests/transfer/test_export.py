"""Export: streamed vCard and CSV that import back without creating or changing anything."""

from __future__ import annotations

import csv
import io

import pytest
import vobject

from tests.transfer.helpers import assert_problem, contacts, imported, sample

EVERYTHING = {
    "full_name": "Zoë Ångström",
    "email": "zoe@example.se",
    "phone": "+46 70 123 45 67",
    "organization": "Lund University; Physics, Dept.",
    "title": "Professor",
    "field": "physics",
    "circle": "alumni",
    "role": "mentor",
    "how_met": "Alumni dinner",
    "tags": ["physics", "a,b", "c;d"],
    "notes": "Line one\nLine two, with; punctuation \\ and a backslash",
}


async def fill(client, headers) -> list[dict]:
    for body in (
        EVERYTHING,
        {"full_name": "李小龍"},
        {"full_name": '=HYPERLINK("http://evil")', "phone": "+1 202 555 0147", "notes": "-1"},
        {"full_name": "'quoted", "title": "@mention", "email": "same@example.com"},
        {"full_name": "Twin", "email": "same@example.com"},
    ):
        r = await client.post("/v1/contacts", json=body, headers=headers)
        assert r.status_code == 201, r.text
    return await contacts(client, headers)


async def export(client, headers, fmt: str) -> bytes:
    r = await client.get("/v1/contacts/export", params={"format": fmt}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"].startswith("attachment; filename=")
    assert r.headers["content-disposition"].endswith(f'.{fmt}"')
    return r.content


@pytest.mark.parametrize("fmt", ["vcf", "csv"])
async def test_round_trip_creates_and_updates_nothing(client, alice, fmt):
    before = await fill(client, alice)
    content = await export(client, alice, fmt)
    report = await imported(client, alice, content, filename=f"x.{fmt}")
    assert report == {"created": 0, "updated": 0, "skipped": len(before), "errors": []}
    assert await contacts(client, alice) == before


@pytest.mark.parametrize("fmt", ["vcf", "csv"])
async def test_export_into_a_fresh_account_keeps_every_exported_field(client, alice, bob, fmt):
    await fill(client, alice)
    content = await export(client, alice, fmt)
    report = await imported(client, bob, content)
    # The twins share an address: the second merges into the first.
    assert report == {"created": 4, "updated": 0, "skipped": 1, "errors": []}
    zoe = next(c for c in await contacts(client, bob) if c["full_name"] == "Zoë Ångström")
    exported = ["email", "phone", "organization", "title", "tags", "notes"]
    if fmt == "csv":
        exported += ["field", "circle", "role", "how_met"]
    assert {k: zoe[k] for k in exported} == {k: EVERYTHING[k] for k in exported}


async def test_vcard_export_is_vcard_3_with_our_ids(client, alice):
    people = await fill(client, alice)
    r = await client.get("/v1/contacts/export", headers=alice)  # vcf is the default
    assert r.headers["content-type"] == "text/vcard; charset=utf-8"
    cards = list(vobject.readComponents(r.text))
    assert len(cards) == len(people)
    assert [c.uid.value for c in cards] == [f"urn:uuid:{p['id']}" for p in people]
    assert all(c.version.value == "3.0" for c in cards)
    zoe = cards[0]
    assert zoe.fn.value == "Zoë Ångström"
    assert zoe.n.value.family == "Ångström" and zoe.n.value.given == "Zoë"
    assert zoe.categories.value == ["physics", "a,b", "c;d"]
    assert zoe.note.value == EVERYTHING["notes"]


async def test_csv_export_has_a_header_and_defuses_formulas(client, alice):
    people = await fill(client, alice)
    r = await client.get("/v1/contacts/export?format=csv", headers=alice)
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.content.startswith(b"\xef\xbb\xbf")  # spreadsheets read it as UTF-8
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row["Rapport ID"] for row in rows] == [p["id"] for p in people]
    evil = rows[2]
    assert evil["Full Name"] == '\'=HYPERLINK("http://evil")'
    assert evil["Phone"] == "'+1 202 555 0147"
    assert evil["Notes"] == "'-1"
    quoted = rows[3]
    assert quoted["Full Name"] == "''quoted"
    assert quoted["Title"] == "'@mention"
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))


async def test_export_of_no_contacts(client, alice):
    assert await export(client, alice, "vcf") == b""
    content = await export(client, alice, "csv")
    assert content.decode("utf-8-sig").startswith("Rapport ID,Full Name,")
    report = await imported(client, alice, content)
    assert report == {"created": 0, "updated": 0, "skipped": 0, "errors": []}


async def test_export_spans_many_pages_in_order(client, alice):
    from app.transfer import service

    lines = "".join(
        f"BEGIN:VCARD\r\nFN:Person {i:04d}\r\nEMAIL:p{i}@example.com\r\nEND:VCARD\r\n"
        for i in range(service.EXPORT_PAGE * 2 + 7)
    )
    report = await imported(client, alice, lines.encode())
    assert report["created"] == service.EXPORT_PAGE * 2 + 7
    r = await client.get("/v1/contacts/export?format=csv", headers=alice)
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == service.EXPORT_PAGE * 2 + 7
    assert len({row["Rapport ID"] for row in rows}) == len(rows)
    assert [row["Full Name"] for row in rows] == sorted(row["Full Name"] for row in rows)
    report = await imported(client, alice, r.content)
    assert report["skipped"] == len(rows) and report["created"] == report["updated"] == 0


async def test_export_shows_only_the_callers_live_contacts(client, alice, bob):
    await imported(client, alice, sample("contacts_v4.vcf"))
    await imported(client, bob, sample("contacts_v3.vcf"))
    [gone] = [c for c in await contacts(client, alice) if c["full_name"] == "Dorothy Vaughan"]
    await client.delete(f"/v1/contacts/{gone['id']}", headers=alice)
    text = (await export(client, alice, "vcf")).decode()
    assert text.count("BEGIN:VCARD") == 1 and "Katherine Johnson" in text


async def test_export_needs_a_token_and_a_known_format(client, alice):
    r = await client.get("/v1/contacts/export")
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = await client.get("/v1/contacts/export?format=xlsx", headers=alice)
    assert_problem(r, 422)
