"""HTTP for etiquette tasks."""

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
from app.etiquette import service
from app.etiquette.models import (
    EtiquetteTask,
    TaskCreate,
    TaskKind,
    TaskPublic,
    TaskStatus,
    TaskUpdate,
)

router = APIRouter(prefix="/v1/etiquette-tasks", tags=["etiquette-tasks"], route_class=RapportRoute)


def _public(task: EtiquetteTask) -> TaskPublic:
    return TaskPublic.model_validate(task, from_attributes=True)


@router.get(
    "",
    name="list",
    response_model=Page[TaskPublic],
    summary="List etiquette tasks",
    description="Cursor-paginated in creation order. Filters combine with AND.",
    responses=problem_responses(400, 401, 422),
)
async def list_tasks(
    session: Session,
    user_id: UserId,
    rt: Rt,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
    contact_id: uuid.UUID | None = None,
    status: TaskStatus | None = None,
    kind: TaskKind | None = None,
    due_before: Annotated[
        UTCDatetime | None, Query(description="Only tasks due before this time.")
    ] = None,
) -> Response:
    rows, next_cursor = await service.list_page(
        session, user_id, rt.list_cursors, limit=limit, cursor=cursor,
        contact_id=contact_id, status=status, kind=kind, due_before=due_before,
    )  # fmt: skip
    return json_response(
        Page[TaskPublic](items=[_public(t) for t in rows], next_cursor=next_cursor)
    )


@router.post(
    "",
    name="create",
    status_code=201,
    response_model=TaskPublic,
    summary="Create a task by hand",
    description=(
        "Your own reminder about a contact: kind `custom` (the other kinds are made by the "
        "rules), a title and an optional due date. Answers 201 with `Location` and `ETag`."
    ),
    dependencies=[Depends(json_body)],
    responses=problem_responses(401, 409, 413, 415, 422),
)
async def create_task(
    request: Request, body: TaskCreate, session: Session, user_id: UserId
) -> Response:
    task = await service.create(session, user_id, body)
    return record_response(
        request, _public(task), task.version, status_code=201,
        location=f"/v1/etiquette-tasks/{task.id}",
    )  # fmt: skip


@router.get(
    "/{task_id}",
    name="get",
    response_model=TaskPublic,
    summary="Get an etiquette task",
    description=(
        "Answers with an `ETag`; send it back as `If-None-Match` to get a 304 without a body "
        "when nothing changed, or as `If-Match` to guard an update. Another user's task is "
        "404, exactly like a missing one."
    ),
    responses={304: {"description": "Not Modified"}, **problem_responses(401, 404, 422)},
)
async def get_task(
    request: Request, task_id: uuid.UUID, session: Session, user_id: UserId
) -> Response:
    task = await service.read(session, user_id, task_id)
    return record_response(request, lambda: _public(task), task.version)


@router.patch(
    "/{task_id}",
    name="update",
    response_model=TaskPublic,
    summary="Update an etiquette task (JSON merge patch)",
    description="`status: done` sets `completed_at`. A task you close is never re-created.",
    dependencies=[Depends(json_body)],
    responses=problem_responses(401, 404, 412, 413, 415, 422),
)
async def update_task(
    request: Request,
    task_id: uuid.UUID,
    body: TaskUpdate,
    session: Session,
    user_id: UserId,
    if_match: Precondition,
) -> Response:
    task = await service.update(session, user_id, task_id, body, if_match)
    return record_response(request, _public(task), task.version)


@router.delete(
    "/{task_id}",
    name="delete",
    status_code=204,
    summary="Delete an etiquette task",
    description="A deleted rule task is not re-created.",
    responses=problem_responses(401, 404, 412, 422),
)
async def delete_task(
    task_id: uuid.UUID, session: Session, user_id: UserId, if_match: Precondition
) -> Response:
    await service.delete(session, user_id, task_id, if_match)
    return Response(status_code=204)
