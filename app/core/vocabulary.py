"""The product's enumerations, shared across domains (a contact's `open_to` names ask kinds)."""

from __future__ import annotations

from enum import StrEnum


class Circle(StrEnum):
    """Where a contact comes from ("Who should be in your network?")."""

    coworker = "coworker"
    former_coworker = "former_coworker"
    classmate = "classmate"
    alumni = "alumni"
    community = "community"
    family = "family"
    friend = "friend"
    neighbour = "neighbour"
    career_fair = "career_fair"
    online = "online"
    other = "other"


# Keep-in-touch interval for a contact without its own `cadence_days`.
CIRCLE_CADENCE_DAYS: dict[Circle, int] = {
    Circle.coworker: 30,
    Circle.former_coworker: 90,
    Circle.classmate: 180,
    Circle.alumni: 180,
    Circle.community: 60,
    Circle.family: 30,
    Circle.friend: 30,
    Circle.neighbour: 60,
    Circle.career_fair: 14,
    Circle.online: 90,
    Circle.other: 90,
}


class Role(StrEnum):
    """What the contact is to you."""

    peer = "peer"
    mentor = "mentor"
    role_model = "role_model"
    mentee = "mentee"


class AskKind(StrEnum):
    """What is asked for; it sets the ask's weight in reciprocity."""

    information = "information"
    advice = "advice"
    feedback = "feedback"
    referral = "referral"
    introduction = "introduction"
    mentorship = "mentorship"
    support = "support"
    job = "job"
    other = "other"
