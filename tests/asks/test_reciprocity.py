"""Reciprocity arithmetic: kind weights, effort override, half-life decay, score and stance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.asks.reciprocity import Balance, decayed, weight
from app.core.vocabulary import AskKind

AS_OF = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


# --- weights ---


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("information", 1),
        ("advice", 1),
        ("support", 1),
        ("other", 1),
        ("feedback", 2),
        ("introduction", 2),
        ("referral", 3),
        ("mentorship", 3),
        ("job", 3),
    ],
)
def test_each_kind_weighs_as_the_contract_says(kind, expected):
    assert weight(kind, None) == expected


def test_every_ask_kind_has_a_weight():
    for kind in AskKind:
        assert weight(kind.value, None) > 0, kind


@pytest.mark.parametrize("effort", [1, 2, 3, 4, 5])
def test_effort_overrides_the_kind_weight(effort):
    assert weight("job", effort) == effort
    assert weight("information", effort) == effort


def test_effort_overrides_even_when_it_is_lower_than_the_kind_weight():
    assert weight("mentorship", 1) == 1


# --- decay ---


def test_ask_resolved_at_as_of_keeps_its_full_weight():
    assert decayed("referral", None, AS_OF, AS_OF) == pytest.approx(3)


def test_ask_resolved_365_days_before_weighs_half():
    resolved = AS_OF - timedelta(days=365)
    assert decayed("advice", None, resolved, AS_OF) == pytest.approx(0.5)
    assert decayed("referral", None, resolved, AS_OF) == pytest.approx(1.5)


def test_ask_resolved_730_days_before_weighs_a_quarter():
    resolved = AS_OF - timedelta(days=730)
    assert decayed("feedback", None, resolved, AS_OF) == pytest.approx(0.5)


def test_decay_is_continuous_in_fractions_of_a_day():
    half_a_year = AS_OF - timedelta(days=182.5)
    assert decayed("advice", None, half_a_year, AS_OF) == pytest.approx(0.5**0.5)
    twelve_hours = AS_OF - timedelta(hours=12)
    assert decayed("advice", None, twelve_hours, AS_OF) == pytest.approx(0.5 ** (0.5 / 365))
    assert decayed("advice", None, twelve_hours, AS_OF) < 1


def test_decay_applies_to_the_effort_override():
    resolved = AS_OF - timedelta(days=365)
    assert decayed("information", 4, resolved, AS_OF) == pytest.approx(2)


def test_decay_does_not_depend_on_the_time_zone_of_the_inputs():
    resolved = (AS_OF - timedelta(days=365)).astimezone(timezone(timedelta(hours=-7)))
    assert decayed("advice", None, resolved, AS_OF) == pytest.approx(0.5)


def test_older_asks_weigh_strictly_less():
    weights = [
        decayed("mentorship", None, AS_OF - timedelta(days=d), AS_OF) for d in (0, 1, 100, 1000)
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


def test_one_fulfilled_referral_received_outweighs_one_advice_given():
    received = decayed("referral", None, AS_OF - timedelta(days=10), AS_OF)
    given = decayed("advice", None, AS_OF - timedelta(days=10), AS_OF)
    assert Balance(given, received).stance == "taking"


def test_old_help_received_fades_below_recent_help_given():
    # A referral (3) received three years ago weighs 3/8; an advice (1) given today weighs 1.
    received = decayed("referral", None, AS_OF - timedelta(days=3 * 365), AS_OF)
    given = decayed("advice", None, AS_OF, AS_OF)
    assert received == pytest.approx(0.375)
    assert Balance(given, received).stance == "giving"
