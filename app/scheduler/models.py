"""What the follow-up, reciprocity and scheduler endpoints return."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field
from sqlmodel import SQLModel

from app.asks.reciprocity import Balance
from app.core.models import schema_config
from app.core.types import UTCDatetime


class FollowUpType(StrEnum):
    """Why an item is on the follow-up list (see `FollowUp.type`)."""

    reconnect = "reconnect"
    etiquette_task = "etiquette_task"
    promise = "promise"
    nudge = "nudge"


_FOLLOW_UP = {
    "type": "reconnect",
    "contact_id": "0b7e3f5e-8a0e-4d5e-9b8f-2c1d3e4f5a6b",
    "contact_name": "Grace Hopper",
    "due_at": "2026-11-01T10:00:00Z",
    "days_overdue": 25,
    "reference_id": "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
}


class FollowUp(SQLModel):
    model_config = schema_config(_FOLLOW_UP)

    type: FollowUpType = Field(
        description="`reconnect`: the contact's keep-in-touch cadence has passed; "
        "`etiquette_task`: a pending task past its due date; `promise`: an incoming ask you "
        "accepted, past its due date; `nudge`: an outgoing ask still open 14 days on."
    )
    contact_id: uuid.UUID
    contact_name: str
    due_at: UTCDatetime
    days_overdue: int = Field(description="Whole days between `due_at` and `as_of`.")
    reference_id: uuid.UUID | None = Field(
        description="The task (`etiquette_task`; for `reconnect`, its pending reconnect task if "
        "the scheduler made one) or the ask (`promise`, `nudge`)."
    )


_BALANCE = {"given": 3.2, "received": 2.5, "score": 0.122807, "stance": "balanced"}
_CONTACT_BALANCE = {
    "contact_id": "0b7e3f5e-8a0e-4d5e-9b8f-2c1d3e4f5a6b",
    "given": 1.0,
    "received": 4.5,
    "score": -0.636364,
    "stance": "taking",
}
_FOLLOW_UP_PAGE = {
    "as_of": "2026-11-26T06:00:00Z",
    "items": [_FOLLOW_UP],
    "next_cursor": None,
}
_RECIPROCITY_PAGE = {
    "as_of": "2026-11-26T06:00:00Z",
    "network": _BALANCE,
    "contacts": [_CONTACT_BALANCE],
    "next_cursor": None,
}
_BATCH = {"users": 250, "tasks_created": 31, "follow_ups": 412, "reciprocity": 9}


class FollowUpPage(SQLModel):
    model_config = schema_config(_FOLLOW_UP_PAGE)

    as_of: UTCDatetime = Field(description="The moment the list is computed for.")
    items: list[FollowUp] = Field(description="Most overdue first.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page (it keeps `as_of`); null on the last."
    )


class Stance(StrEnum):
    """`none`: no help either way; `giving`: score > 0.2; `taking`: < −0.2; else `balanced`."""

    none = "none"
    giving = "giving"
    taking = "taking"
    balanced = "balanced"


def _rounded(value: float) -> float:
    # Sums of decayed weights: six decimals are plenty, and spare apps 0.30000000000000004.
    return round(value, 6) + 0.0


def balance_fields(balance: Balance) -> dict[str, Any]:
    """A balance's public fields. Models are made from them with `model_construct`: they are
    computed here, and validating them cost most of a reciprocity page (50 contacts)."""
    return {
        "given": _rounded(balance.given),
        "received": _rounded(balance.received),
        "score": _rounded(balance.score),
        "stance": Stance(balance.stance),
    }


class BalancePublic(SQLModel):
    model_config = schema_config(_BALANCE)

    given: float = Field(description="Help you gave (their asks you fulfilled), decayed.")
    received: float = Field(description="Help you received (your asks they fulfilled), decayed.")
    score: float = Field(ge=-1, le=1, description="(given − received) / (given + received).")
    stance: Stance

    @classmethod
    def of(cls, balance: Balance) -> BalancePublic:
        return cls.model_construct(**balance_fields(balance))


class ContactReciprocity(BalancePublic):
    model_config = schema_config(
        {
            "contact_id": "0b7e3f5e-8a0e-4d5e-9b8f-2c1d3e4f5a6b",
            "given": 1.0,
            "received": 4.5,
            "score": -0.636364,
            "stance": "taking",
        }
    )

    contact_id: uuid.UUID


class ReciprocityPage(SQLModel):
    model_config = schema_config(_RECIPROCITY_PAGE)

    as_of: UTCDatetime
    network: BalancePublic = Field(description="The sums over all your contacts.")
    contacts: list[ContactReciprocity] = Field(
        description="Contacts with at least one fulfilled ask, lowest score (most taking) "
        "first. A contact left out has given = received = 0 and stance `none`."
    )
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page of contacts; null on the last."
    )


class RunRequest(SQLModel):
    model_config = schema_config({"as_of": "2026-11-26T06:00:00Z"}, {}, input=True)

    as_of: UTCDatetime | None = Field(
        default=None, description="Run as of this moment; default now."
    )


class UserRun(SQLModel):
    """A run for the calling user (a user token)."""

    model_config = schema_config(
        {
            "scope": "user",
            "as_of": "2026-11-26T06:00:00Z",
            "tasks_created": 2,
            "follow_ups": _FOLLOW_UP_PAGE,
            "reciprocity": _RECIPROCITY_PAGE,
        }
    )

    scope: Literal["user"] = "user"
    as_of: UTCDatetime
    tasks_created: int = Field(description="Reconnect and offer-help tasks this run created.")
    follow_ups: FollowUpPage = Field(description="The first page of `GET /v1/follow-ups`.")
    reciprocity: ReciprocityPage = Field(description="The first page of `GET /v1/reciprocity`.")


class BatchRun(SQLModel):
    model_config = schema_config(_BATCH)

    users: int
    tasks_created: int
    follow_ups: int = Field(description="Follow-up items of these users as of the run.")
    reciprocity: int = Field(description="Contacts of these users with stance `taking`.")


class AllUsersRun(SQLModel):
    """A run for every user (the service credential)."""

    model_config = schema_config(
        {
            "scope": "all",
            "as_of": "2026-11-26T06:00:00Z",
            "users": 250,
            "tasks_created": 31,
            "follow_ups": 412,
            "reciprocity": 9,
            "batches": [_BATCH],
            "tombstones_purged": 17,
        }
    )

    scope: Literal["all"] = "all"
    as_of: UTCDatetime
    users: int = Field(description="Users this runner handled (overlapping runners split them).")
    tasks_created: int
    follow_ups: int
    reciprocity: int
    batches: list[BatchRun]
    tombstones_purged: int = Field(
        description="Deleted records dropped from the sync feed (older than its retention)."
    )
