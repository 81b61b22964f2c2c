"""Files that are not what they claim: a clean 4xx, no hang, and nothing changes. Never a 500."""

from __future__ import annotations

import asyncio
import os

import pytest

from tests.transfer.helpers import assert_problem, contacts, imported, upload

MiB = 1024 * 1024


@pytest.fixture
async def one_contact(client, alice) -> list[dict]:
    r = await client.post("/v1/contacts", json={"full_name": "Already Here"}, headers=alice)
    assert r.status_code == 201
    return await contacts(client, alice)


async def refused(client, headers, content: bytes, status: int, **kwargs) -> dict:
    # A guard against a hang (a regex bomb, a quadratic parse), not a speed target: those live
    # in `make bench`. Generous, because the suite runs in parallel on a shared 2-core machine.
    r = await asyncio.wait_for(upload(client, headers, content, **kwargs), timeout=120)
    return assert_problem(r, status)


PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + os.urandom(4096)


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (PNG, "image/png", 415, "undecodable"),
        (b"BEGIN:VCARD\r\nFN:\x00\x01\x02\r\nEND:VCARD\r\n", "text/vcard", 415, "binary"),
        ("Zoë,Ångström".encode("latin-1"), "text/csv", 415, "undecodable"),
        ("First Name\r\nZoe".encode("utf-16-le"), "text/csv", 415, "binary"),  # no BOM
        (b"First Name\r\nX", "text/csv; charset=no-such-charset", 415, "unknown_charset"),
        (b"Rmlyc3QgTmFtZQ==", "text/csv; charset=base64", 415, "unknown_charset"),
        (
            b"Rapport ID,Full Name\r\n,\\ud800",
            "text/csv; charset=unicode_escape",
            415,
            "undecodable",
        ),
        (b"", "text/csv", 422, "empty_file"),
        (b" \r\n\r\n", "text/csv", 422, "empty_file"),
        (b"just some text\nwith lines\n", "text/plain", 422, "unknown_format"),
        (b"Name;Phone\nAda;123\n", "text/csv", 422, "unknown_format"),
        (b"x,y\n" * 1_000_000, "text/csv", 422, "unknown_format"),
    ],
    ids=[
        "png",
        "nul-bytes",
        "latin-1-undeclared",
        "utf-16-without-bom",
        "unknown-charset",
        "a-codec-that-is-no-charset",
        "lone-surrogate",
        "empty",
        "blank",
        "plain-text",
        "semicolon-csv-unknown-header",
        "million-lines-no-header",
    ],
)
async def test_unreadable_files(client, alice, one_contact, content, content_type, status, code):
    body = await refused(client, alice, content, status, content_type=content_type)
    assert body["errors"][0]["code"] == code
    assert body["errors"][0]["field"] == "body.file"
    assert await contacts(client, alice) == one_contact


async def test_a_50_mib_upload_is_refused_before_it_is_read(client, alice, one_contact):
    sent = 0

    async def body():
        nonlocal sent
        yield (
            b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.vcf"\r\n'
            b"Content-Type: text/vcard\r\n\r\nBEGIN:VCARD\r\n"
        )
        for _ in range(50):
            sent += MiB
            yield b"X" * MiB

    # Chunked: counted as it arrives and refused as soon as it passes the limit.
    r = await client.post(
        "/v1/contacts/import",
        content=body(),
        headers={**alice, "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert_problem(r, 413)
    assert sent <= 12 * MiB
    # Declared: refused on the Content-Length alone.
    r = await client.post(
        "/v1/contacts/import",
        content=b"x" * (11 * MiB),
        headers={**alice, "Content-Type": "multipart/form-data; boundary=x"},
    )
    body413 = assert_problem(r, 413)
    assert str(10 * MiB) in body413["detail"]
    assert await contacts(client, alice) == one_contact


async def test_other_endpoints_keep_the_1_mib_limit(client, alice):
    r = await client.post(
        "/v1/contacts",
        content=b"{" + b" " * (2 * MiB) + b"}",
        headers={**alice, "Content-Type": "application/json"},
    )
    assert_problem(r, 413)


async def test_a_file_just_under_the_limit_is_read(client, alice):
    card = (
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Big Notes\r\nNOTE:" + b"n" * 9000 + b"\r\nEND:VCARD\r\n"
    )
    report = await imported(client, alice, card * 1000)  # ~9 MB
    assert report["created"] == 1000  # a name alone is not a match key


async def test_more_records_than_the_limit_is_413(client, alice, app, one_contact):
    limit = app.state.runtime.settings.import_max_records
    cards = b"BEGIN:VCARD\r\nFN:x\r\nEND:VCARD\r\n" * (limit + 1)
    body = await refused(client, alice, cards, 413)
    assert str(limit) in body["detail"]
    rows = b"Rapport ID,Full Name\r\n" + b",someone\r\n" * 1_000_000
    await refused(client, alice, rows, 413)
    assert await contacts(client, alice) == one_contact


async def test_a_file_with_no_importable_record_is_422(client, alice, one_contact):
    cards = b"BEGIN:VCARD\r\nEMAIL:a@example.com\r\nEND:VCARD\r\n" * 3
    body = await refused(client, alice, cards, 422)
    assert [e["message"] for e in body["errors"]] == [
        f"Record {n}: The record has no name." for n in (1, 2, 3)
    ]
    assert await contacts(client, alice) == one_contact


@pytest.mark.parametrize(
    "card",
    [
        # An enormous single field.
        "BEGIN:VCARD\r\nFN:x\r\nNOTE:" + "a" * 5_000_000 + "\r\nEND:VCARD\r\n",
        # Thousands of properties.
        "BEGIN:VCARD\r\nFN:x\r\n" + "X-P:1\r\n" * 50_000 + "END:VCARD\r\n",
        # Folded into a million continuation lines.
        "BEGIN:VCARD\r\nFN:x\r\nNOTE:a\r\n" + " b\r\n" * 1_000_000 + "END:VCARD\r\n",
        # A parameter list that sends vobject's line regex into exponential backtracking.
        "BEGIN:VCARD\r\nFN:x\r\nX-A;" + "P=1;" * 40 + ":v\r\nEND:VCARD\r\n",
        # Cards nested without end.
        "BEGIN:VCARD\r\n" * 100_000,
        # Not a card at all after its first line.
        "BEGIN:VCARD\r\n\x01\x02garbage without colons\r\nEND:VCARD\r\n",
    ],
    ids=["huge-field", "many-properties", "many-folds", "redos", "nested", "garbage"],
)
async def test_hostile_vcards(client, alice, one_contact, card):
    body = await refused(client, alice, card.encode(), 422)
    assert body["errors"][0]["code"] == "invalid_record"
    assert await contacts(client, alice) == one_contact


async def test_a_hostile_card_among_good_ones_is_one_records_error(client, alice):
    good = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Good\r\nEND:VCARD\r\n"
    bad = "BEGIN:VCARD\r\nFN:x\r\nX-A;" + "P=1;" * 40 + ":v\r\nEND:VCARD\r\n"
    report = await imported(client, alice, (good + bad + good.replace("Good", "Fine")).encode())
    assert report["created"] == 2
    assert [e["record"] for e in report["errors"]] == [2]
    assert "malformed line" in report["errors"][0]["detail"]


@pytest.mark.parametrize(
    "content",
    [
        # One cell far over the csv module's field limit.
        b"Rapport ID,Full Name,Notes\r\n," + b"x" * 3_000_000 + b",y\r\n",
        # An unterminated quote swallows the rest of the file.
        b'Rapport ID,Full Name,Notes\r\n,"Ada,x\r\n' + b"more\r\n" * 100_000,
    ],
    ids=["huge-cell", "unterminated-quote"],
)
async def test_hostile_csv(client, alice, one_contact, content):
    await refused(client, alice, content, 422)
    assert await contacts(client, alice) == one_contact
