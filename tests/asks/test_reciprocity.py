"""Reciprocity: kind weights, effort override, half-life decay, score and stance.

Weights and decay are summed in SQL (app/asks/repository.py), so they are observed here through
`GET /v1/contacts/{id}/reciprocity` on both databases; `Balance` (score and stance from two
sums) is plain arithmetic and is tested directly. tests/scheduler/test_reference.py compares
whole networks with a reference model.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from app.asks.reciprocity import Balance
from app.core.vocabulary import AskKind
from tests.backdate import set_columns
from tests.scheduler.test_reference import KIND_WEIGHTS as CONTRACT_WEIGHTS
from tests.scheduler.test_reference import decayed_weight

AS_OF = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def new_contact(client: httpx.AsyncClient, h: dict[str, str], name: str) -> str:
    r = await client.post("/v1/contacts", json={"full_name": name}, headers=h)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def fulfilled(
    client: httpx.AsyncClient,
    h: dict[str, str],
    contact_id: str,
    kind: str,
    *,
    direction: str = "incoming",
    effort: int | None = None,
    app=None,
    resolved_at: datetime | None = None,
) -> datetime:
    """A fulfilled ask; returns its `resolved_at`. `resolved_at` is server-owned ("now"): to
    choose it, pass `app` and it is changed directly in the database."""
    body = {
        "contact_id": contact_id,
        "direction": direction,
        "kind": kind,
        "statement": "Could you help?",
        "status": "fulfilled",
        "effort": effort,
    }
    r = await client.post("/v1/asks", json=body, headers=h)
    assert r.status_code == 201, r.text
    if resolved_at is None:
        return datetime.fromisoformat(r.json()["resolved_at"])
    await set_columns(app, "asks", r.json()["id"], resolved_at=resolved_at)
    return resolved_at


async def balance(
    client: httpx.AsyncClient, h: dict[str, str], contact_id: str, as_of: datetime | str
) -> dict:
    text = as_of if isinstance(as_of, str) else iso(as_of)
    r = await client.get(
        f"/v1/contacts/{contact_id}/reciprocity", params={"as_of": text}, headers=h
    )
    assert r.status_code == 200, r.text
    return r.json()


def approx(value: float) -> object:
    return pytest.approx(value, rel=1e-9, abs=1e-6)


# --- weights ---


def test_the_contract_names_a_weight_for_every_ask_kind():
    assert set(CONTRACT_WEIGHTS) == {kind.value for kind in AskKind}


async def test_each_kind_weighs_as_the_contract_says(client, alice):
    resolved = {}
    for kind in CONTRACT_WEIGHTS:
        contact_id = await new_contact(client, alice, f"Helped with {kind}")
        resolved[kind] = (contact_id, await fulfilled(client, alice, contact_id, kind))
    for kind, (contact_id, at) in resolved.items():
        got = await balance(client, alice, contact_id, at)  # age 0: no decay
        assert (got["given"], got["received"]) == (CONTRACT_WEIGHTS[kind], 0), kind


async def test_effort_overrides_the_kind_weight(client, alice):
    cases = [(kind, effort) for kind in ("job", "information") for effort in (1, 2, 3, 4, 5)]
    cases.append(("mentorship", 1))  # even when it is lower than the kind's weight
    for kind, effort in cases:
        contact_id = await new_contact(client, alice, f"{kind} {effort}")
        at = await fulfilled(client, alice, contact_id, kind, direction="outgoing", effort=effort)
        got = await balance(client, alice, contact_id, at)
        assert (got["given"], got["received"]) == (0, effort), (kind, effort)


# --- decay ---


async def test_ask_resolved_at_as_of_keeps_its_full_weight(client, alice):
    contact_id = await new_contact(client, alice, "Grace Hopper")
    at = await fulfilled(client, alice, contact_id, "referral")
    assert (await balance(client, alice, contact_id, at))["given"] == 3


@pytest.mark.parametrize(
    ("age", "factor"),
    [
        (timedelta(days=365), 0.5),
        (timedelta(days=730), 0.25),
        (timedelta(days=182.5), 0.5**0.5),
        (timedelta(hours=12), 0.5 ** (0.5 / 365)),
        (timedelta(days=3 * 365), 0.125),
    ],
)
async def test_decay_halves_the_weight_every_365_days_continuously(client, alice, age, factor):
    advice = await new_contact(client, alice, "Advice")
    referral = await new_contact(client, alice, "Referral")
    advice_at = await fulfilled(client, alice, advice, "advice")
    referral_at = await fulfilled(client, alice, referral, "referral")
    assert (await balance(client, alice, advice, advice_at + age))["given"] == approx(factor)
    assert (await balance(client, alice, referral, referral_at + age))["given"] == approx(
        3 * factor
    )
    assert decayed_weight("referral", None, referral_at, referral_at + age) == approx(3 * factor)


async def test_twelve_hours_of_decay_is_visible(client, alice):
    contact_id = await new_contact(client, alice, "Grace Hopper")
    at = await fulfilled(client, alice, contact_id, "advice")
    assert (await balance(client, alice, contact_id, at + timedelta(hours=12)))["given"] < 1


async def test_decay_applies_to_the_effort_override(client, alice):
    contact_id = await new_contact(client, alice, "Grace Hopper")
    at = await fulfilled(client, alice, contact_id, "information", effort=4)
    later = at + timedelta(days=365)
    assert (await balance(client, alice, contact_id, later))["given"] == approx(2)


async def test_decay_does_not_depend_on_the_offset_of_as_of(client, alice):
    contact_id = await new_contact(client, alice, "Grace Hopper")
    at = await fulfilled(client, alice, contact_id, "advice")
    later = at + timedelta(days=365)
    for offset in (timedelta(hours=-7), timedelta(hours=5, minutes=30), timedelta(hours=14)):
        text = later.astimezone(timezone(offset)).isoformat()
        assert (await balance(client, alice, contact_id, text))["given"] == approx(0.5), text


async def test_older_asks_weigh_strictly_less(client, alice):
    contact_id = await new_contact(client, alice, "Grace Hopper")
    at = await fulfilled(client, alice, contact_id, "mentorship")
    weights = [
        (await balance(client, alice, contact_id, at + timedelta(days=d)))["given"]
        for d in (0, 1, 100, 1000)
    ]
    assert weights == sorted(weights, reverse=True)
    assert len(set(weights)) == len(weights)


# --- score ---


def test_score_is_zero_when_nothing_was_given_or_received():
    assert Balance(0, 0).score == 0


def test_score_is_one_when_only_giving_and_minus_one_when_only_taking():
    assert Balance(3, 0).score == 1
    assert Balance(0, 2.5).score == -1


def test_score_is_difference_over_total():
    assert Balance(3, 1).score == pytest.approx(0.5)
    assert Balance(1, 3).score == pytest.approx(-0.5)
    assert Balance(2, 2).score == 0


# --- stance ---


def test_stance_is_none_when_both_sums_are_zero():
    assert Balance(0, 0).stance == "none"


def test_stance_is_giving_when_only_giving():
    assert Balance(1, 0).stance == "giving"


def test_stance_is_taking_when_only_receiving():
    assert Balance(0, 1).stance == "taking"


def test_stance_is_balanced_when_equal():
    assert Balance(2, 2).stance == "balanced"


def test_score_of_exactly_plus_0_2_is_balanced_not_giving():
    balance = Balance(3, 2)
    assert balance.score == pytest.approx(0.2)
    assert balance.stance == "balanced"


def test_score_of_exactly_minus_0_2_is_balanced_not_taking():
    balance = Balance(2, 3)
    assert balance.score == pytest.approx(-0.2)
    assert balance.stance == "balanced"


def test_score_just_above_0_2_is_giving():
    balance = Balance(3.01, 2)
    assert balance.score > 0.2
    assert balance.stance == "giving"


def test_score_just_below_minus_0_2_is_taking():
    balance = Balance(2, 3.01)
    assert balance.score < -0.2
    assert balance.stance == "taking"


def test_small_imbalance_within_threshold_is_balanced():
    assert Balance(1.1, 1).stance == "balanced"
    assert Balance(1, 1.1).stance == "balanced"


def test_tiny_nonzero_sums_still_have_a_stance():
    assert Balance(1e-9, 0).stance == "giving"
    assert Balance(0, 1e-9).stance == "taking"


async def test_one_fulfilled_referral_received_outweighs_one_advice_given(client, alice, app):
    contact_id = await new_contact(client, alice, "Grace Hopper")
    resolved = AS_OF - timedelta(days=10)
    for kind, direction in (("referral", "outgoing"), ("advice", "incoming")):
        await fulfilled(
            client, alice, contact_id, kind, direction=direction, app=app, resolved_at=resolved
        )
    got = await balance(client, alice, contact_id, AS_OF)
    assert (got["given"], got["received"]) == (
        approx(0.5 ** (10 / 365)),
        approx(3 * 0.5 ** (10 / 365)),
    )
    assert (got["score"], got["stance"]) == (-0.5, "taking")


async def test_old_help_received_fades_below_recent_help_given(client, alice, app):
    # A referral (3) received three years ago weighs 3/8; an advice (1) given today weighs 1.
    contact_id = await new_contact(client, alice, "Grace Hopper")
    received = AS_OF - timedelta(days=3 * 365)
    await fulfilled(
        client, alice, contact_id, "referral", direction="outgoing", app=app, resolved_at=received
    )
    await fulfilled(client, alice, contact_id, "advice", app=app, resolved_at=AS_OF)
    got = await balance(client, alice, contact_id, AS_OF)
    assert (got["given"], got["received"]) == (approx(1), approx(0.375))
    assert got["stance"] == "giving"
    # Three years earlier, before the advice, the same contact was all taking.
    got = await balance(client, alice, contact_id, received)
    assert (got["given"], got["received"], got["stance"]) == (0, 3, "taking")
