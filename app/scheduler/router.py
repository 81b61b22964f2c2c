"""HTTP for follow-ups, reciprocity and the scheduler run."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import Field
from starlette.responses import Response

from app.core import observability
from app.core.deps import (
    DEFAULT_PAGE,
    Cursor,
    Limit,
    Rt,
    Session,
    UserId,
    bearer_token,
    current_user_id,
    json_body,
)
from app.core.errors import problem_responses
from app.core.http import json_response
from app.core.routing import RapportRoute
from app.core.security import is_service_token
from app.core.types import UTCDatetime
from app.scheduler import service
from app.scheduler.models import (
    AllUsersRun,
    ContactReciprocity,
    FollowUpPage,
    ReciprocityPage,
    RunRequest,
    UserRun,
)

router = APIRouter(prefix="/v1", route_class=RapportRoute)

AsOf = Annotated[
    UTCDatetime | None,
    Query(
        description="Compute as of this moment (RFC 3339 with an offset); default now. "
        "Interactions and asks after it do not count."
    ),
]


@router.get(
    "/follow-ups",
    name="list",
    tags=["follow-ups"],
    response_model=FollowUpPage,
    summary="What to follow up on, most overdue first",
    description="Contacts due for a reconnect (their cadence has passed since the last "
    "completed interaction), pending etiquette tasks past due, incoming asks you accepted "
    "and have not delivered by their due date, and your outgoing asks still open after 14 "
    "days. Computed live; a cursor keeps the `as_of` of its first page.",
    responses=problem_responses(400, 401, 422),
)
async def list_follow_ups(
    session: Session,
    user_id: UserId,
    rt: Rt,
    as_of: AsOf = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> Response:
    page = await service.follow_ups_page(
        session, user_id, rt.list_cursors, as_of=as_of, limit=limit, cursor=cursor
    )
    return json_response(page)


@router.get(
    "/reciprocity",
    name="get",
    tags=["reciprocity"],
    response_model=ReciprocityPage,
    summary="How much help you gave and received, per contact and in all",
    description="Over fulfilled asks resolved by `as_of`: each weighs its `effort`, else its "
    "kind's weight, halved every 365 days. `given` sums incoming asks (you helped them), "
    "`received` outgoing ones. Stance: `giving` above a score of 0.2, `taking` below −0.2.",
    responses=problem_responses(400, 401, 422),
)
async def get_reciprocity(
    session: Session,
    user_id: UserId,
    rt: Rt,
    as_of: AsOf = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> Response:
    page = await service.reciprocity_page(
        session, user_id, rt.list_cursors, as_of=as_of, limit=limit, cursor=cursor
    )
    return json_response(page)


@router.get(
    "/contacts/{contact_id}/reciprocity",
    name="reciprocity",
    tags=["contacts"],
    response_model=ContactReciprocity,
    summary="Reciprocity with one contact",
    description=(
        "Help given to and received from this contact, as of now: fulfilled asks weighted by "
        "kind (or `effort`) and halved every 365 days. A contact with no fulfilled ask has "
        "stance `none`."
    ),
    responses=problem_responses(401, 404, 422),
)
async def get_contact_reciprocity(
    contact_id: uuid.UUID, session: Session, user_id: UserId, as_of: AsOf = None
) -> Response:
    return json_response(await service.contact_reciprocity(session, user_id, contact_id, as_of))


def _service_caller(token: Annotated[str | None, Depends(bearer_token)], rt: Rt) -> bool:
    return is_service_token(token, rt.settings.service_token)


@router.post(
    "/scheduler/run",
    name="run",
    tags=["scheduler"],
    # Told apart by `scope`: generated clients get a discriminated union, not a guess.
    response_model=Annotated[UserRun | AllUsersRun, Field(discriminator="scope")],
    summary="Apply the scheduled rules (reconnect, offer help) and report what is due",
    description="With a user's access token: for that user, returning the first pages of "
    "follow-ups and reciprocity. With the service credential (`RAPPORT_SERVICE_TOKEN`): for "
    "every user, in batches, returning counts per batch, then purges tombstones older than "
    "the sync retention and expired idempotency keys. Safe to repeat and to overlap: "
    "each task is created once, and overlapping runners split the users between them.",
    dependencies=[Depends(json_body)],
    responses=problem_responses(401, 409, 413, 415, 422),
)
async def run_scheduler(
    session: Session,
    rt: Rt,
    is_service: Annotated[bool, Depends(_service_caller)],
    token: Annotated[str | None, Depends(bearer_token)],
    body: RunRequest | None = None,
) -> Response:
    as_of = body.as_of if body is not None else None
    if is_service:
        policy = service.AllUsersPolicy(
            batch_size=rt.settings.scheduler_batch_size,
            min_interval=timedelta(seconds=rt.settings.scheduler_min_interval_seconds),
            tombstone_retention=timedelta(days=rt.settings.sync_retention_days),
            idempotency_ttl=timedelta(seconds=rt.settings.idempotency_ttl_seconds),
        )
        everyone = await service.run_for_all(rt.db, as_of, policy)
        observability.scheduler_run(everyone.scope, everyone.tasks_created)
        return json_response(everyone)
    user_id = current_user_id(token, rt)
    mine = await service.run_for_user(session, user_id, rt.list_cursors, as_of)
    observability.scheduler_run(mine.scope, mine.tasks_created)
    return json_response(mine)
