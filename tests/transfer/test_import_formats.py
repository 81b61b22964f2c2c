"""Each format we recognise imports with the right counts and field values."""

from __future__ import annotations

import pytest

from tests.transfer.helpers import (
    assert_problem,
    by_name,
    contacts,
    imported,
    sample,
    upload,
)


async def test_google_contacts_csv(client, alice):
    report = await imported(client, alice, sample("google_contacts.csv"), filename="x.txt")
    # The fourth row (a business with no name) is refused, the others created.
    assert report == {
        "created": 3,
        "updated": 0,
        "skipped": 0,
        "errors": [{"record": 4, "detail": "The record has no name."}],
    }
    people = await by_name(client, alice)
    assert set(people) == {"Zoë Ångström", "Grace Brewster Hopper", "李小龍"}
    zoe = people["Zoë Ångström"]
    assert zoe["email"] == "zoe.angstrom@example.se"
    assert zoe["phone"] == "+46 70 123 45 67"
    assert zoe["organization"] == "Lund University"
    assert zoe["title"] == "Professor of Physics"
    assert zoe["notes"] == "Met at the alumni dinner.\nLoves spectroscopy."
    # User labels become tags; Google's system groups do not.
    assert zoe["tags"] == ["Alumni", "Physics"]
    assert zoe["circle"] == "other"
    grace = people["Grace Brewster Hopper"]
    # The first of several addresses (Google packs them with ` ::: `) is kept.
    assert grace["email"] == "grace@navy.example"
    assert grace["phone"] == "+1 202 555 0147"
    assert grace["circle"] == "coworker"  # the `* coworkers` system group
    assert grace["tags"] == ["Compilers"]
    bruce = people["李小龍"]  # 小龍 (given) + 李 (family): family first in CJK
    assert bruce["circle"] == "friend"
    assert bruce["organization"] == "Golden Harvest"


async def test_google_contacts_older_layout(client, alice):
    report = await imported(client, alice, sample("google_contacts_legacy.csv"))
    assert report == {"created": 2, "updated": 0, "skipped": 0, "errors": []}
    people = await by_name(client, alice)
    ada = people["Ada Lovelace"]
    assert ada["email"] == "ada@example.co.uk"
    assert ada["phone"] == "+44 20 7946 0958"
    assert ada["organization"] == "Analytical Engines Ltd"
    assert ada["title"] == "Analyst"
    assert ada["field"] == "mathematics"  # Occupation
    assert ada["notes"] == "Wrote the first program."
    assert ada["tags"] == ["Mentors"]
    alan = people["Alan Mathison Turing"]  # no `Name`: given, additional, family
    assert alan["circle"] == "family"
    assert alan["organization"] == "Bletchley Park"


async def test_outlook_csv_in_windows_1252(client, alice):
    report = await imported(
        client,
        alice,
        sample("outlook.csv"),
        filename="contacts.csv",
        content_type="text/csv; charset=windows-1252",
    )
    assert report == {"created": 2, "updated": 0, "skipped": 0, "errors": []}
    people = await by_name(client, alice)
    jose = people["José Müller"]
    assert jose["email"] == "jose.muller@example.de"
    assert jose["phone"] == "+49 170 1234567"  # mobile first
    assert jose["organization"] == "Zürich Instruments"
    assert jose["title"] == "Head of Research"  # Job Title, not the honorific `Title`
    assert jose["tags"] == ["Conference", "VIP"]
    assert jose["notes"].startswith("Prefers email; café meetings.")
    renee = people["Renée Façade"]
    assert renee["phone"] == "+33 1 23 45 67 89"
    assert renee["title"] == "Designer"


async def test_outlook_csv_without_its_charset_is_refused_not_mangled(client, alice):
    r = await upload(client, alice, sample("outlook.csv"), content_type="text/csv")
    body = assert_problem(r, 415)
    assert "charset" in body["detail"]
    assert await contacts(client, alice) == []


async def test_linkedin_connections_with_preamble(client, alice):
    report = await imported(client, alice, sample("linkedin_connections.csv"))
    assert report == {"created": 3, "updated": 0, "skipped": 0, "errors": []}
    people = await by_name(client, alice)
    satya = people["Satya Nadella"]
    assert satya["circle"] == "online"
    assert satya["how_met"] == "Connected on LinkedIn on 14 Mar 2024"
    assert satya["organization"] == "Microsoft"
    assert satya["title"] == "Chairman and CEO"
    assert satya["email"] is None
    assert satya["notes"] == "LinkedIn: https://www.linkedin.com/in/satyanadella"
    assert people["Margaret Hamilton"]["email"] == "margaret@example.com"
    assert people["Linus Torvalds"]["organization"] == "Linux Foundation, Inc."


async def test_vcard_3_with_folded_lines_photos_and_several_cards(client, alice):
    report = await imported(client, alice, sample("contacts_v3.vcf"))
    assert report == {"created": 3, "updated": 0, "skipped": 0, "errors": []}
    people = await by_name(client, alice)
    zoe = people["Zoë Ångström"]
    assert zoe["email"] == "zoe.angstrom@example.se"
    assert zoe["phone"] == "+46 70 123 45 67"
    assert zoe["organization"] == "Lund University"
    assert zoe["title"] == "Professor of Physics at the Department of Physics, Faculty of Science"
    assert zoe["notes"] == "Met at the alumni dinner.\nLoves spectroscopy."
    assert zoe["tags"] == ["Alumni", "Physics"]
    assert people["李小龍"]["phone"] == "+852 2123 4567"
    # No FN: the name comes from N; the preferred of two addresses is kept.
    grace = people["Rear Admiral Grace Brewster Hopper"]
    assert grace["email"] == "grace@navy.example"


async def test_vcard_4(client, alice):
    report = await imported(client, alice, sample("contacts_v4.vcf"))
    assert report == {"created": 2, "updated": 0, "skipped": 0, "errors": []}
    people = await by_name(client, alice)
    katherine = people["Katherine Johnson"]
    assert katherine["email"] == "katherine@nasa.example"
    assert katherine["phone"] == "+1-757-555-0100"  # the `tel:` URI scheme is dropped
    assert katherine["organization"] == "NASA Langley"
    assert katherine["title"] == "Research Mathematician"
    assert katherine["notes"] == (
        "Calculated trajectories for Friendship 7; asked her about orbital mechanics."
    )
    assert katherine["tags"] == ["space", "mathematics"]
    assert people["Dorothy Vaughan"]["email"] == "dorothy@nasa.example"


@pytest.mark.parametrize("bom", ["utf-8-sig", "utf-16"])
async def test_text_with_a_byte_order_mark(client, alice, bom):
    text = sample("contacts_v4.vcf").decode("utf-8")
    report = await imported(client, alice, text.encode(bom))
    assert report["created"] == 2


async def test_vcard_2_1_quoted_printable(client, alice):
    card = (
        "BEGIN:VCARD\r\nVERSION:2.1\r\n"
        "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=C3=85ngstr=C3=B6m;Zo=C3=AB\r\n"
        "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Zo=C3=AB =C3=85ngstr=C3=B6m\r\n"
        "TEL;CELL;PREF:+46 70 123 45 67\r\n"
        "NOTE;ENCODING=QUOTED-PRINTABLE:A long note that a phone wrapped with a soft=\r\n"
        " line break.\r\n"
        "END:VCARD\r\n"
    )
    report = await imported(client, alice, card.encode())
    assert report == {"created": 1, "updated": 0, "skipped": 0, "errors": []}
    zoe = (await by_name(client, alice))["Zoë Ångström"]
    assert zoe["phone"] == "+46 70 123 45 67"
