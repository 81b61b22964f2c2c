"""Etiquette warnings on outgoing asks: each appears exactly when its rule holds, never blocks."""

from __future__ import annotations

import pytest

from app.core.vocabulary import AskKind
from tests.asks.test_router import codes, create, list_asks
from tests.contacts.test_router import assert_problem
from tests.contacts.test_router import create as create_contact

KINDS = [k.value for k in AskKind]


async def get(client, headers, ask: dict) -> dict:
    r = await client.get(f"/v1/asks/{ask['id']}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def patch(client, headers, ask: dict, **changes: object) -> dict:
    r = await client.patch(f"/v1/asks/{ask['id']}", json=changes, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
async def contact(client, alice) -> dict:
    return await create_contact(client, alice, full_name="Grace Hopper")


# --- the baseline: a courteous ask carries no warning ---


async def test_courteous_outgoing_ask_has_no_warnings(client, alice, contact):
    ask = await create(client, alice, contact["id"], kind="advice")
    assert ask["etiquette_warnings"] == []
    assert (await get(client, alice, ask))["etiquette_warnings"] == []


# --- ask_for_job ---


@pytest.mark.parametrize("kind", KINDS)
async def test_ask_for_job_appears_exactly_for_kind_job(client, alice, contact, kind):
    ask = await create(client, alice, contact["id"], kind=kind, researched=True)
    assert ("ask_for_job" in codes(ask)) is (kind == "job")
    assert codes(ask) <= {"ask_for_job"}


async def test_changing_kind_to_job_and_back_adds_then_removes_ask_for_job(client, alice, contact):
    ask = await create(client, alice, contact["id"], kind="advice")
    assert codes(await patch(client, alice, ask, kind="job")) == {"ask_for_job"}
    assert codes(await get(client, alice, ask)) == {"ask_for_job"}
    assert codes(await patch(client, alice, ask, kind="feedback")) == set()


# --- outside_comfort ---


@pytest.mark.parametrize("kind", KINDS)
async def test_outside_comfort_appears_exactly_when_open_to_lacks_the_kind(client, alice, kind):
    contact = await create_contact(client, alice, open_to=["advice", "feedback"])
    ask = await create(client, alice, contact["id"], kind=kind, researched=True)
    assert ("outside_comfort" in codes(ask)) is (kind not in {"advice", "feedback"})


@pytest.mark.parametrize("kind", KINDS)
async def test_empty_open_to_never_warns_outside_comfort(client, alice, contact, kind):
    assert contact["open_to"] == []
    ask = await create(client, alice, contact["id"], kind=kind)
    assert "outside_comfort" not in codes(ask)


async def test_outside_comfort_message_names_the_contact_and_the_kind(client, alice):
    contact = await create_contact(client, alice, full_name="Ada Lovelace", open_to=["advice"])
    ask = await create(client, alice, contact["id"], kind="referral")
    (warning,) = ask["etiquette_warnings"]
    assert warning["code"] == "outside_comfort"
    assert "Ada Lovelace" in warning["message"] and "referral" in warning["message"]


async def test_outside_comfort_follows_the_contacts_open_to(client, alice):
    contact = await create_contact(client, alice, open_to=["advice"])
    ask = await create(client, alice, contact["id"], kind="introduction")
    assert codes(ask) == {"outside_comfort"}
    url = f"/v1/contacts/{contact['id']}"
    r = await client.patch(url, json={"open_to": ["advice", "introduction"]}, headers=alice)
    assert r.status_code == 200
    assert codes(await get(client, alice, ask)) == set()
    await client.patch(url, json={"open_to": None}, headers=alice)  # back to unknown
    assert codes(await get(client, alice, ask)) == set()
    await client.patch(url, json={"open_to": ["mentorship"]}, headers=alice)
    assert codes(await get(client, alice, ask)) == {"outside_comfort"}


async def test_changing_kind_into_the_comfort_zone_clears_outside_comfort(client, alice):
    contact = await create_contact(client, alice, open_to=["feedback"])
    ask = await create(client, alice, contact["id"], kind="mentorship")
    assert codes(ask) == {"outside_comfort"}
    assert codes(await patch(client, alice, ask, kind="feedback")) == set()


# --- not_researched ---


@pytest.mark.parametrize("kind", KINDS)
async def test_not_researched_appears_only_for_unresearched_information(
    client, alice, contact, kind
):
    ask = await create(client, alice, contact["id"], kind=kind, researched=False)
    assert ("not_researched" in codes(ask)) is (kind == "information")


async def test_researched_information_has_no_not_researched(client, alice, contact):
    ask = await create(client, alice, contact["id"], kind="information", researched=True)
    assert "not_researched" not in codes(ask)


async def test_information_defaults_to_not_researched(client, alice, contact):
    ask = await create(client, alice, contact["id"], kind="information")
    assert codes(ask) == {"not_researched"}


async def test_marking_researched_clears_not_researched(client, alice, contact):
    ask = await create(client, alice, contact["id"], kind="information")
    assert codes(ask) == {"not_researched"}
    assert codes(await patch(client, alice, ask, researched=True)) == set()
    assert codes(await get(client, alice, ask)) == set()
    assert codes(await patch(client, alice, ask, researched=False)) == {"not_researched"}


# --- pending_ask ---


async def test_a_single_open_ask_is_not_pending_against_itself(client, alice, contact):
    ask = await create(client, alice, contact["id"])
    assert "pending_ask" not in codes(ask)


async def test_second_open_outgoing_ask_to_the_same_contact_warns_pending_ask(
    client, alice, contact
):
    first = await create(client, alice, contact["id"], kind="advice")
    second = await create(client, alice, contact["id"], kind="feedback")
    assert codes(second) == {"pending_ask"}
    # The first one now has another open ask beside it too.
    assert codes(await get(client, alice, first)) == {"pending_ask"}


async def test_pending_ask_message_names_the_contact(client, alice, contact):
    await create(client, alice, contact["id"])
    second = await create(client, alice, contact["id"])
    (warning,) = second["etiquette_warnings"]
    assert warning["code"] == "pending_ask" and "Grace Hopper" in warning["message"]


@pytest.mark.parametrize("status", ["accepted", "declined", "withdrawn"])
async def test_an_ask_that_is_not_open_does_not_make_another_pending(
    client, alice, contact, status
):
    await create(client, alice, contact["id"], status=status)
    ask = await create(client, alice, contact["id"])
    assert codes(ask) == set()


async def test_a_fulfilled_ask_does_not_make_another_pending(client, alice, contact):
    await create(client, alice, contact["id"], status="fulfilled")
    ask = await create(client, alice, contact["id"])
    assert "pending_ask" not in codes(ask)


async def test_an_open_incoming_ask_does_not_make_an_outgoing_one_pending(client, alice, contact):
    await create(client, alice, contact["id"], direction="incoming")
    ask = await create(client, alice, contact["id"])
    assert codes(ask) == set()


async def test_an_open_ask_to_another_contact_does_not_make_this_one_pending(
    client, alice, contact
):
    other = await create_contact(client, alice, full_name="Ada Lovelace")
    await create(client, alice, other["id"])
    ask = await create(client, alice, contact["id"])
    assert codes(ask) == set()


async def test_another_users_open_ask_does_not_make_mine_pending(client, alice, bob, contact):
    bobs_contact = await create_contact(client, bob, full_name="Grace Hopper")
    await create(client, bob, bobs_contact["id"])
    ask = await create(client, alice, contact["id"])
    assert codes(ask) == set()


async def test_deleting_the_other_open_ask_clears_pending_ask(client, alice, contact):
    first = await create(client, alice, contact["id"])
    second = await create(client, alice, contact["id"])
    assert codes(second) == {"pending_ask"}
    r = await client.delete(f"/v1/asks/{first['id']}", headers=alice)
    assert r.status_code == 204
    assert codes(await get(client, alice, second)) == set()


async def test_a_deleted_ask_does_not_make_a_new_one_pending(client, alice, contact):
    first = await create(client, alice, contact["id"])
    assert (await client.delete(f"/v1/asks/{first['id']}", headers=alice)).status_code == 204
    ask = await create(client, alice, contact["id"])
    assert codes(ask) == set()


@pytest.mark.parametrize("status", ["accepted", "withdrawn", "declined"])
async def test_moving_the_other_ask_out_of_open_clears_pending_ask(client, alice, contact, status):
    first = await create(client, alice, contact["id"])
    second = await create(client, alice, contact["id"])
    await patch(client, alice, first, status=status)
    assert "pending_ask" not in codes(await get(client, alice, second))


async def test_reopening_the_other_ask_brings_pending_ask_back(client, alice, contact):
    first = await create(client, alice, contact["id"], status="withdrawn")
    second = await create(client, alice, contact["id"])
    assert codes(second) == set()
    await patch(client, alice, first, status="open")
    assert codes(await get(client, alice, second)) == {"pending_ask"}


# --- reciprocity_imbalance ---


async def test_they_helped_me_and_i_helped_with_nothing_is_taking(client, alice, contact):
    helped = await create(client, alice, contact["id"], kind="advice", status="fulfilled")
    assert codes(helped) == {"reciprocity_imbalance"}
    ask = await create(client, alice, contact["id"], kind="feedback")
    assert codes(ask) == {"reciprocity_imbalance"}
    (warning,) = ask["etiquette_warnings"]
    assert "Grace Hopper" in warning["message"]


async def test_fulfilling_an_outgoing_ask_turns_the_contact_to_taking(client, alice, contact):
    first = await create(client, alice, contact["id"], status="accepted")
    assert codes(first) == set()
    assert codes(await patch(client, alice, first, status="fulfilled")) == {"reciprocity_imbalance"}


async def test_enough_help_given_back_clears_reciprocity_imbalance(client, alice, contact):
    # They gave me a referral (weight 3); each advice I give back weighs 1.
    await create(client, alice, contact["id"], kind="referral", status="fulfilled")
    ask = await create(client, alice, contact["id"], kind="feedback")
    assert codes(ask) == {"reciprocity_imbalance"}
    await create(client, alice, contact["id"], direction="incoming", status="fulfilled")
    assert codes(await get(client, alice, ask)) == {"reciprocity_imbalance"}  # 1 vs 3: -0.5
    for _ in range(2):
        await create(client, alice, contact["id"], direction="incoming", status="fulfilled")
    assert codes(await get(client, alice, ask)) == set()  # 3 vs 3: balanced


async def test_only_giving_never_warns_reciprocity_imbalance(client, alice, contact):
    await create(client, alice, contact["id"], direction="incoming", status="fulfilled")
    ask = await create(client, alice, contact["id"])
    assert codes(ask) == set()


@pytest.mark.parametrize("status", ["open", "accepted", "declined", "withdrawn"])
async def test_outgoing_asks_not_fulfilled_do_not_count_as_help_received(
    client, alice, contact, status
):
    await create(client, alice, contact["id"], kind="mentorship", status=status)
    ask = await create(client, alice, contact["id"])
    assert "reciprocity_imbalance" not in codes(ask)


async def test_incoming_asks_not_fulfilled_do_not_count_as_help_given(client, alice, contact):
    await create(client, alice, contact["id"], kind="advice", status="fulfilled")
    for status in ["open", "accepted", "declined", "withdrawn"]:
        await create(client, alice, contact["id"], direction="incoming", status=status)
    ask = await create(client, alice, contact["id"], status="accepted")
    assert codes(ask) == {"reciprocity_imbalance"}


async def test_effort_overrides_the_kind_weight_in_reciprocity(client, alice, contact):
    # A referral weighs 3, but with effort 1 it balances one advice given back.
    await create(client, alice, contact["id"], kind="referral", effort=1, status="fulfilled")
    await create(client, alice, contact["id"], direction="incoming", status="fulfilled")
    ask = await create(client, alice, contact["id"], kind="feedback")
    assert codes(ask) == set()


async def test_effort_on_help_given_can_balance_a_heavy_ask_received(client, alice, contact):
    await create(client, alice, contact["id"], kind="mentorship", status="fulfilled")
    given = await create(client, alice, contact["id"], direction="incoming", status="fulfilled")
    ask = await create(client, alice, contact["id"], kind="feedback")
    assert codes(ask) == {"reciprocity_imbalance"}  # 1 vs 3
    await patch(client, alice, given, effort=3)
    assert codes(await get(client, alice, ask)) == set()  # 3 vs 3


async def test_reciprocity_is_per_contact(client, alice, contact):
    other = await create_contact(client, alice, full_name="Ada Lovelace")
    await create(client, alice, other["id"], kind="job", status="fulfilled")
    # Help I gave someone else does not balance what Ada gave me, and vice versa.
    await create(client, alice, contact["id"], direction="incoming", status="fulfilled")
    assert codes(await create(client, alice, contact["id"])) == set()
    assert codes(await create(client, alice, other["id"])) == {"reciprocity_imbalance"}


async def test_deleting_the_fulfilled_ask_clears_reciprocity_imbalance(client, alice, contact):
    helped = await create(client, alice, contact["id"], status="fulfilled")
    ask = await create(client, alice, contact["id"])
    assert codes(ask) == {"reciprocity_imbalance"}
    assert (await client.delete(f"/v1/asks/{helped['id']}", headers=alice)).status_code == 204
    assert codes(await get(client, alice, ask)) == set()


async def test_reopening_the_fulfilled_ask_clears_reciprocity_imbalance(client, alice, contact):
    helped = await create(client, alice, contact["id"], status="fulfilled")
    ask = await create(client, alice, contact["id"], status="accepted")
    assert codes(ask) == {"reciprocity_imbalance"}
    await patch(client, alice, helped, status="open")
    assert codes(await get(client, alice, ask)) == {"pending_ask"}


# --- incoming asks ---


@pytest.mark.parametrize("kind", KINDS)
async def test_incoming_asks_never_carry_warnings(client, alice, kind):
    contact = await create_contact(client, alice, open_to=["advice"])
    # Every condition that would warn on an outgoing ask holds for this contact.
    await create(client, alice, contact["id"], kind="job", status="fulfilled")
    await create(client, alice, contact["id"], kind="advice")
    await create(client, alice, contact["id"], direction="incoming", kind=kind)
    ask = await create(client, alice, contact["id"], direction="incoming", kind=kind)
    assert ask["etiquette_warnings"] == []
    assert (await get(client, alice, ask))["etiquette_warnings"] == []
    listed = await list_asks(client, alice, direction="incoming")
    assert all(a["etiquette_warnings"] == [] for a in listed) and len(listed) == 2


async def test_incoming_ask_moving_through_its_statuses_never_warns(client, alice, contact):
    ask = await create(client, alice, contact["id"], direction="incoming", kind="job")
    for status in ["accepted", "fulfilled", "open", "declined"]:
        assert (await patch(client, alice, ask, status=status))["etiquette_warnings"] == []


# --- warnings in every response, never blocking ---


async def test_warnings_never_block_and_every_warning_has_a_message(client, alice):
    contact = await create_contact(client, alice, open_to=["advice"])
    await create(client, alice, contact["id"], kind="job", status="fulfilled")  # taking
    await create(client, alice, contact["id"], kind="advice")  # open
    body = {
        "contact_id": contact["id"],
        "direction": "outgoing",
        "statement": "Everything at once",
    }
    seen: dict[str, str] = {}
    shared = {"outside_comfort", "pending_ask", "reciprocity_imbalance"}
    for kind, expected in [
        ("job", {"ask_for_job", *shared}),
        ("information", {"not_researched", *shared}),
    ]:
        r = await client.post("/v1/asks", json={**body, "kind": kind}, headers=alice)
        assert r.status_code == 201, r.text
        assert codes(r.json()) == expected
        for warning in r.json()["etiquette_warnings"]:
            assert set(warning) == {"code", "message"}
            assert isinstance(warning["message"], str) and warning["message"].strip()
            seen[warning["code"]] = warning["message"]
    assert set(seen) == {
        "ask_for_job",
        "outside_comfort",
        "not_researched",
        "pending_ask",
        "reciprocity_imbalance",
    }
    assert len(set(seen.values())) == 5  # each code explains itself


async def test_warnings_are_listed_once_each(client, alice, contact):
    await create(client, alice, contact["id"])
    await create(client, alice, contact["id"])
    ask = await create(client, alice, contact["id"], kind="job")
    found = [w["code"] for w in ask["etiquette_warnings"]]
    assert sorted(found) == ["ask_for_job", "pending_ask"]


async def test_warnings_appear_on_create_get_list_and_patch(client, alice, contact):
    created = await create(client, alice, contact["id"], kind="job")
    assert codes(created) == {"ask_for_job"}
    assert codes(await get(client, alice, created)) == {"ask_for_job"}
    (listed,) = await list_asks(client, alice)
    assert codes(listed) == {"ask_for_job"}
    patched = await patch(client, alice, created, statement="Any openings on your team?")
    assert codes(patched) == {"ask_for_job"}
    assert patched["etiquette_warnings"] == created["etiquette_warnings"]


async def test_a_warned_ask_can_still_be_rejected_for_validation(client, alice, contact):
    r = await client.post(
        "/v1/asks",
        json={"contact_id": contact["id"], "direction": "outgoing", "kind": "job", "effort": 9},
        headers=alice,
    )
    assert_problem(r, 422)
    assert await list_asks(client, alice) == []


async def test_list_page_returns_each_asks_own_warnings(client, alice):
    comfy = await create_contact(client, alice, full_name="Comfy", open_to=["advice"])
    busy = await create_contact(client, alice, full_name="Busy")
    owed = await create_contact(client, alice, full_name="Owed")
    plain = await create_contact(client, alice, full_name="Plain")
    await create(client, alice, owed["id"], kind="referral", status="fulfilled")
    expected: dict[str, set[str]] = {}

    async def add(contact: dict, want: set[str], **fields: object) -> None:
        ask = await create(client, alice, contact["id"], **fields)
        expected[ask["id"]] = want

    await add(comfy, set(), kind="advice")
    await add(comfy, {"outside_comfort", "pending_ask"}, kind="referral", status="accepted")
    await add(busy, {"pending_ask", "ask_for_job"}, kind="job")
    await add(busy, {"pending_ask", "not_researched"}, kind="information")
    await add(owed, {"reciprocity_imbalance"}, kind="feedback")
    await add(plain, set(), kind="information", researched=True)
    await add(plain, set(), kind="job", direction="incoming")
    await add(comfy, set(), kind="mentorship", direction="incoming")
    # The first comfy ask is not pending: the only other one to Comfy is accepted, not open.
    items = [a for a in await list_asks(client, alice) if a["id"] in expected]
    assert len(items) == len(expected)
    for item in items:
        assert codes(item) == expected[item["id"]], item
        assert item["etiquette_warnings"] == (await get(client, alice, item))["etiquette_warnings"]


async def test_paged_list_keeps_each_asks_warnings_across_pages(client, alice, contact):
    other = await create_contact(client, alice, full_name="Other", open_to=["advice"])
    made = []
    for i in range(6):
        target = contact if i % 2 else other
        made.append(await create(client, alice, target["id"], kind=["advice", "job"][i % 2]))
    expected = {a["id"]: codes(await get(client, alice, a)) for a in made}
    seen: dict[str, set[str]] = {}
    cursor = None
    while True:
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/asks", params=params, headers=alice)).json()
        seen |= {a["id"]: codes(a) for a in page["items"]}
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert expected[made[1]["id"]] == {"ask_for_job", "pending_ask"}
    assert expected[made[0]["id"]] == {"pending_ask"}
