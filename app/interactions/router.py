"""HTTP for interactions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from app.core.deps import DEFAULT_PAGE, Cursor, Limit, Precondition, Rt, Session, UserId, json_body
from app.core.errors import problem_responses
from app.core.http import json_response, record_response
from app.core.pagination import Page
from app.core.routing import RapportRoute
from app.core.types import UTCDatetime
from app.interactions import service
from app.interactions.models import (
    Channel,
    Interaction,
    InteractionCreate,
    InteractionPublic,
    InteractionStatus,
    InteractionUpdate,
)

router = APIRouter(prefix="/v1/interactions", tags=["interactions"], route_class=RapportRoute)


def _public(interaction: Interaction) -> InteractionPublic:
    return InteractionPublic.model_validate(interaction, from_attributes=True)


@router.get(
    "",
    name="list",
    response_model=Page[InteractionPublic],
    summary="List interactions",
    description="Cursor-paginated in creation order. Filters combine with AND.",
    responses=problem_responses(400, 401, 422),
)
async def list_interactions(
    session: Session,
    user_id: UserId,
    rt: Rt,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
    contact_id: uuid.UUID | None = None,
    channel: Channel | None = None,
    status: InteractionStatus | None = None,
    occurred_after: Annotated[
        UTCDatetime | None, Query(description="`occurred_at` at or after this time.")
    ] = None,
    occurred_before: Annotated[
        UTCDatetime | None, Query(description="`occurred_at` before this time.")
    ] = None,
) -> Response:
    rows, next_cursor = await service.list_page(
        session,
        user_id,
        rt.list_cursors,
        limit=limit,
        cursor=cursor,
        contact_id=contact_id,
        channel=channel,
        status=status,
        occurred_after=occurred_after,
        occurred_before=occurred_before,
    )
    page = Page[InteractionPublic](items=[_public(i) for i in rows], next_cursor=next_cursor)
    return json_response(page)


@router.post(
    "",
    name="create",
    status_code=201,
    response_model=InteractionPublic,
    summary="Log or plan an interaction",
    description=(
        "A completed meeting, call or video call creates a thank-you-note task; a planned "
        "meeting whose time you proposed creates a task to confirm it suits the contact; a "
        "planned meeting without an objective creates a task to set one."
    ),
    dependencies=[Depends(json_body)],
    responses=problem_responses(401, 409, 413, 415, 422),
)
async def create_interaction(
    request: Request, body: InteractionCreate, session: Session, user_id: UserId
) -> Response:
    interaction = await service.create(session, user_id, body)
    return record_response(
        request,
        _public(interaction),
        interaction.version,
        status_code=201,
        location=f"/v1/interactions/{interaction.id}",
    )


@router.get(
    "/{interaction_id}",
    name="get",
    response_model=InteractionPublic,
    summary="Get an interaction",
    description=(
        "Answers with an `ETag`; send it back as `If-None-Match` to get a 304 without a body "
        "when nothing changed, or as `If-Match` to guard an update. Another user's interaction is "
        "404, exactly like a missing one."
    ),
    responses={304: {"description": "Not Modified"}, **problem_responses(401, 404, 422)},
)
async def get_interaction(
    request: Request, interaction_id: uuid.UUID, session: Session, user_id: UserId
) -> Response:
    interaction = await service.read(session, user_id, interaction_id)
    return record_response(request, lambda: _public(interaction), interaction.version)


@router.patch(
    "/{interaction_id}",
    name="update",
    response_model=InteractionPublic,
    summary="Update an interaction (JSON merge patch)",
    description="Pending etiquette tasks follow: a rescheduled meeting moves their due dates; "
    "a cancelled meeting or a newly set objective dismisses the tasks it caused.",
    dependencies=[Depends(json_body)],
    responses=problem_responses(401, 404, 412, 413, 415, 422),
)
async def update_interaction(
    request: Request,
    interaction_id: uuid.UUID,
    body: InteractionUpdate,
    session: Session,
    user_id: UserId,
    if_match: Precondition,
) -> Response:
    interaction = await service.update(session, user_id, interaction_id, body, if_match)
    return record_response(request, _public(interaction), interaction.version)


@router.delete(
    "/{interaction_id}",
    name="delete",
    status_code=204,
    summary="Delete an interaction",
    description="Pending tasks it caused are dismissed; a tombstone is kept for sync.",
    responses=problem_responses(401, 404, 412, 422),
)
async def delete_interaction(
    interaction_id: uuid.UUID, session: Session, user_id: UserId, if_match: Precondition
) -> Response:
    await service.delete(session, user_id, interaction_id, if_match)
    return Response(status_code=204)
