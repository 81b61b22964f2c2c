"""Reciprocity ("expect to give as much as you get"): weights, half-life decay, stance.

The sums are computed in the database (`app/asks/repository.py`); this module holds the
contract's constants and turns two sums into a score and a stance.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.vocabulary import AskKind

KIND_WEIGHTS: dict[str, float] = {
    AskKind.information.value: 1,
    AskKind.advice.value: 1,
    AskKind.support.value: 1,
    AskKind.other.value: 1,
    AskKind.feedback.value: 2,
    AskKind.introduction.value: 2,
    AskKind.referral.value: 3,
    AskKind.mentorship.value: 3,
    AskKind.job.value: 3,
}
HALF_LIFE_DAYS = 365
STANCE_THRESHOLD = 0.2


@dataclass(frozen=True)
class Balance:
    given: float
    received: float

    @property
    def score(self) -> float:
        total = self.given + self.received
        return 0.0 if total == 0 else (self.given - self.received) / total

    @property
    def stance(self) -> str:
        if self.given == 0 and self.received == 0:
            return "none"
        if self.score > STANCE_THRESHOLD:
            return "giving"
        if self.score < -STANCE_THRESHOLD:
            return "taking"
        return "balanced"
