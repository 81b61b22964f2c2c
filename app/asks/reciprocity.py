"""Reciprocity ("expect to give as much as you get"): weights, half-life decay, stance.

Plain functions over plain values, shared by the ask warnings and the reciprocity endpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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


def weight(kind: str, effort: int | None) -> float:
    return float(effort) if effort is not None else KIND_WEIGHTS[kind]


def decayed(kind: str, effort: int | None, resolved_at: datetime, as_of: datetime) -> float:
    age_days = (as_of - resolved_at).total_seconds() / 86400
    return weight(kind, effort) * 0.5 ** (age_days / HALF_LIFE_DAYS)


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
