"""Records are matched to existing contacts and to each other, and merged without overwriting."""

from __future__ import annotations

from tests.transfer.helpers import by_name, contacts, imported


def card(*lines: str) -> str:
    return (
        "BEGIN:VCARD\r\nVERSION:3.0\r\n"
        + "".join(f"{line}\r\n" for line in lines)
        + ("END:VCARD\r\n")
    )


async def create(client, headers, **fields) -> dict:
    r = await client.post("/v1/contacts", json=fields, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_existing_contact_matched_by_email_case_gains_only_empty_fields(client, alice):
    mine = await create(
        client, alice, full_name="Ada L.", email="Ada@Example.co.uk", title="Countess", tags=["x"]
    )
    file = card(
        "FN:Ada Lovelace",
        "EMAIL:ada@example.CO.UK ",
        "TITLE:Analyst",
        "ORG:Analytical Engines",
        "CATEGORIES:x,maths",
    )
    report = await imported(client, alice, file.encode())
    assert report == {"created": 0, "updated": 1, "skipped": 0, "errors": []}
    [ada] = await contacts(client, alice)
    assert ada["id"] == mine["id"]
    assert ada["full_name"] == "Ada L."  # never overwritten
    assert ada["email"] == "Ada@Example.co.uk"
    assert ada["title"] == "Countess"
    assert ada["organization"] == "Analytical Engines"  # was empty: filled
    assert ada["tags"] == ["x", "maths"]  # unioned
    assert ada["version"] == mine["version"] + 1
    # The same file again has nothing left to add.
    report = await imported(client, alice, file.encode())
    assert report == {"created": 0, "updated": 0, "skipped": 1, "errors": []}


async def test_national_and_international_phone_formats_match_in_the_users_country(client):
    from tests.conftest import sign_up

    r = await client.post(
        "/v1/auth/register",
        json={
            "email": "london@example.com",
            "password": "correct horse battery",
            "timezone": "Europe/London",
        },
    )
    assert r.status_code == 201
    headers = await _login(client, "london@example.com")
    mine = await create(client, headers, full_name="Tim", phone="+44 20 7946 0958")
    report = await imported(client, headers, card("FN:Tim B-L", "TEL:020 7946 0958").encode())
    assert report == {"created": 0, "updated": 0, "skipped": 1, "errors": []}
    assert [c["id"] for c in await contacts(client, headers)] == [mine["id"]]
    # A national number stored by a create, or by a patch, is read in the user's country too.
    jane = await create(client, headers, full_name="Jane", phone="020 7946 0000")
    r = await client.patch(
        f"/v1/contacts/{mine['id']}", json={"phone": "020 7946 0999"}, headers=headers
    )
    assert r.status_code == 200
    international = card("FN:J", "TEL:+44 20 7946 0000") + card("FN:T", "TEL:+44 20 7946 0999")
    report = await imported(client, headers, international.encode())
    assert report == {"created": 0, "updated": 0, "skipped": 2, "errors": []}
    assert {c["id"] for c in await contacts(client, headers)} == {mine["id"], jane["id"]}
    # A user in another country reads `020 …` differently: no match there.
    other = await sign_up(client)
    await create(client, other, full_name="Tim", phone="+44 20 7946 0958")
    report = await imported(client, other, card("FN:Tim B-L", "TEL:020 7946 0958").encode())
    assert report["created"] == 1


async def _login(client, email: str) -> dict[str, str]:
    r = await client.post(
        "/v1/auth/token", data={"username": email, "password": "correct horse battery"}
    )
    assert r.status_code == 200
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_phone_key_follows_patch(client, alice):
    mine = await create(client, alice, full_name="Tim", phone="+1 202 555 0147")
    r = await client.patch(
        f"/v1/contacts/{mine['id']}", json={"phone": "+1 (202) 555-0199"}, headers=alice
    )
    assert r.status_code == 200
    report = await imported(client, alice, card("FN:Tim", "TEL:+12025550199").encode())
    assert report == {"created": 0, "updated": 0, "skipped": 1, "errors": []}
    report = await imported(client, alice, card("FN:Tim", "TEL:+12025550147").encode())
    assert report["created"] == 1


async def test_duplicates_within_one_file_become_one_contact(client, alice):
    file = (
        card("FN:Grace Hopper", "EMAIL:grace@navy.example")
        + card("FN:Grace H.", "EMAIL:GRACE@navy.example", "TEL:+1 202 555 0147")
        + card("FN:Amazing Grace", "TEL:+1 (202) 555-0147", "ORG:US Navy")
        + card("FN:G. Hopper", "EMAIL:grace@navy.example")
    )
    report = await imported(client, alice, file.encode())
    # 1 created; 2 adds a phone, 3 (matched by that phone) adds an organization; 4 adds nothing.
    assert report == {"created": 1, "updated": 2, "skipped": 1, "errors": []}
    [grace] = await contacts(client, alice)
    assert grace["full_name"] == "Grace Hopper"
    assert grace["phone"] == "+1 202 555 0147"
    assert grace["organization"] == "US Navy"
    assert grace["version"] == 1


async def test_email_match_wins_over_phone_match(client, alice):
    by_email = await create(client, alice, full_name="A", email="a@example.com")
    by_phone = await create(client, alice, full_name="B", phone="+1 202 555 0147")
    report = await imported(
        client, alice, card("FN:X", "TEL:+1 202 555 0147", "EMAIL:a@example.com").encode()
    )
    assert report == {"created": 0, "updated": 1, "skipped": 0, "errors": []}
    people = {c["id"]: c for c in await contacts(client, alice)}
    assert people[by_email["id"]]["phone"] == "+1 202 555 0147"
    assert people[by_phone["id"]]["version"] == 1


async def test_own_id_matches_before_email(client, alice):
    first = await create(client, alice, full_name="Same Mail", email="s@example.com")
    second = await create(client, alice, full_name="Same Mail 2", email="s@example.com")
    file = card(f"UID:urn:uuid:{second['id']}", "FN:Same Mail 2", "EMAIL:s@example.com", "TITLE:T")
    report = await imported(client, alice, file.encode())
    assert report["updated"] == 1
    people = {c["id"]: c for c in await contacts(client, alice)}
    assert people[second["id"]]["title"] == "T"
    assert people[first["id"]]["title"] is None


async def test_another_users_contacts_are_never_matched(client, alice, bob):
    theirs = await create(client, bob, full_name="Bob's", email="shared@example.com")
    file = card(f"UID:urn:uuid:{theirs['id']}", "FN:Mine", "EMAIL:shared@example.com")
    report = await imported(client, alice, file.encode())
    assert report["created"] == 1
    [mine] = await contacts(client, alice)
    assert mine["id"] != theirs["id"]  # a file never chooses ids
    [still] = await contacts(client, bob)
    assert still == theirs


async def test_bad_records_are_reported_and_the_good_ones_imported(client, alice):
    file = (
        card("FN:Good One")
        + card("EMAIL:nameless@example.com")
        + card("FN:" + "x" * 201)
        + card("FN:Long Notes", "NOTE:" + "n" * 10_001)
        + card("FN:Good Two")
    )
    report = await imported(client, alice, file.encode())
    assert report["created"] == 2
    assert [e["record"] for e in report["errors"]] == [2, 3, 4]
    assert report["errors"][0]["detail"] == "The record has no name."
    assert "full_name" in report["errors"][1]["detail"]
    assert "notes" in report["errors"][2]["detail"]
    assert set(await by_name(client, alice)) == {"Good One", "Good Two"}


async def test_deleted_contacts_are_not_matched(client, alice):
    gone = await create(client, alice, full_name="Gone", email="gone@example.com")
    r = await client.delete(f"/v1/contacts/{gone['id']}", headers=alice)
    assert r.status_code == 204
    report = await imported(client, alice, card("FN:Back", "EMAIL:gone@example.com").encode())
    assert report["created"] == 1
