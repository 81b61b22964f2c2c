"""HTTP for asks. Every ask answer carries its etiquette warnings."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import Response

from app.asks import service
from app.asks.models import Ask, AskCreate, AskPublic, AskStatus, AskUpdate, Direction
from app.asks.warnings import warnings_for
from app.core.deps import DEFAULT_PAGE, Cursor, Limit, Precondition, Rt, Session, UserId, json_body
from app.core.errors import problem_responses
from app.core.http import json_response, record_response
from app.core.pagination import Page
from app.core.routing import RapportRoute
from app.core.vocabulary import AskKind

router = APIRouter(prefix="/v1/asks", tags=["asks"], route_class=RapportRoute)


async def _publics(session: AsyncSession, user_id: uuid.UUID, asks: list[Ask]) -> list[AskPublic]:
    warnings = await warnings_for(session, user_id, asks)
    return [
        AskPublic.model_validate(
            ask, from_attributes=True, update={"etiquette_warnings": warnings[ask.id]}
        )
        for ask in asks
    ]


async def _respond(
    request: Request, session: AsyncSession, user_id: uuid.UUID, ask: Ask, **kwargs: object
) -> Response:
    (public,) = await _publics(session, user_id, [ask])
    # Messages as well as codes: a message names the contact, so renaming one changes it.
    computed = "\n".join(f"{w.code}:{w.message}" for w in public.etiquette_warnings)
    return record_response(request, public, ask.version, computed=computed, **kwargs)  # type: ignore[arg-type]


@router.get(
    "",
    name="list",
    response_model=Page[AskPublic],
    summary="List asks",
    description="Cursor-paginated in creation order. Filters combine with AND.",
    responses=problem_responses(400, 401, 422),
)
async def list_asks(
    session: Session,
    user_id: UserId,
    rt: Rt,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
    contact_id: uuid.UUID | None = None,
    direction: Direction | None = None,
    status: AskStatus | None = None,
    kind: AskKind | None = None,
) -> Response:
    rows, next_cursor = await service.list_page(
        session, user_id, rt.list_cursors, limit=limit, cursor=cursor,
        contact_id=contact_id, direction=direction, status=status, kind=kind,
    )  # fmt: skip
    page = Page[AskPublic](items=await _publics(session, user_id, rows), next_cursor=next_cursor)
    return json_response(page)


@router.post(
    "",
    name="create",
    status_code=201,
    response_model=AskPublic,
    summary="Record an ask, either direction",
    description=(
        "Outgoing asks come back with `etiquette_warnings` (asking for a job, outside the "
        "contact's comfort, not researched, another ask still open, taking more than giving). "
        "Warnings never block: the ask is created."
    ),
    dependencies=[Depends(json_body)],
    responses=problem_responses(401, 409, 413, 415, 422),
)
async def create_ask(
    request: Request, body: AskCreate, session: Session, user_id: UserId
) -> Response:
    ask = await service.create(session, user_id, body)
    return await _respond(
        request, session, user_id, ask, status_code=201, location=f"/v1/asks/{ask.id}"
    )


@router.get(
    "/{ask_id}",
    name="get",
    response_model=AskPublic,
    summary="Get an ask",
    description=(
        "With its `etiquette_warnings` computed now, so the `ETag` changes when they do "
        "(`If-None-Match` → 304 only if both the ask and its warnings are unchanged). "
        "Another user's ask is 404, exactly like a missing one."
    ),
    responses={304: {"description": "Not Modified"}, **problem_responses(401, 404, 422)},
)
async def get_ask(
    request: Request, ask_id: uuid.UUID, session: Session, user_id: UserId
) -> Response:
    ask = await service.get(session, user_id, ask_id)
    return await _respond(request, session, user_id, ask)


@router.patch(
    "/{ask_id}",
    name="update",
    response_model=AskPublic,
    summary="Update an ask (JSON merge patch)",
    description=(
        "Status moves: `open` → `accepted`; `open` or `accepted` → `fulfilled`, `declined` or "
        "`withdrawn` (the server sets `resolved_at`); a resolved ask → `open` again "
        "(`resolved_at` cleared). Any other move is 409. An outgoing ask that becomes "
        "fulfilled creates a thank-you-note task."
    ),
    dependencies=[Depends(json_body)],
    responses=problem_responses(401, 404, 409, 412, 413, 415, 422),
)
async def update_ask(
    request: Request,
    ask_id: uuid.UUID,
    body: AskUpdate,
    session: Session,
    user_id: UserId,
    if_match: Precondition,
) -> Response:
    ask = await service.update(session, user_id, ask_id, body, if_match)
    return await _respond(request, session, user_id, ask)


@router.delete(
    "/{ask_id}",
    name="delete",
    status_code=204,
    summary="Delete an ask",
    description=(
        "Removes it from reads and from reciprocity (a tombstone is kept for sync); pending "
        "tasks it caused are dismissed. `If-Match` guards it; a second delete is 404."
    ),
    responses=problem_responses(401, 404, 412, 422),
)
async def delete_ask(
    ask_id: uuid.UUID, session: Session, user_id: UserId, if_match: Precondition
) -> Response:
    await service.delete(session, user_id, ask_id, if_match)
    return Response(status_code=204)
