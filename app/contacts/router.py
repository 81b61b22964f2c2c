"""HTTP for contacts."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from app.contacts import service
from app.contacts.models import Contact, ContactCreate, ContactPublic, ContactUpdate
from app.core.deps import DEFAULT_PAGE, Cursor, Limit, Precondition, Rt, Session, UserId, json_body
from app.core.errors import problem_responses
from app.core.http import json_response, record_response
from app.core.pagination import Page
from app.core.routing import RapportRoute
from app.core.types import Text, UTCDatetime
from app.core.vocabulary import Circle

router = APIRouter(prefix="/v1/contacts", tags=["contacts"], route_class=RapportRoute)


def _public(contact: Contact) -> ContactPublic:
    return ContactPublic.model_validate(contact, from_attributes=True)


@router.get(
    "",
    name="list",
    response_model=Page[ContactPublic],
    summary="List contacts",
    description="Cursor-paginated, oldest first. Filters combine with AND.",
    responses=problem_responses(400, 401, 422),
)
async def list_contacts(
    session: Session,
    user_id: UserId,
    rt: Rt,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
    q: Annotated[
        Text(200) | None,
        Query(description="Matches name, organization, email or a tag (case-insensitive)."),
    ] = None,
    circle: Circle | None = None,
    tag: Annotated[Text(50) | None, Query(description="Contacts carrying this tag.")] = None,
    updated_since: Annotated[
        UTCDatetime | None, Query(description="Only contacts changed at or after this time.")
    ] = None,
) -> Response:
    rows, next_cursor = await service.list_page(
        session,
        user_id,
        rt.list_cursors,
        limit=limit,
        cursor=cursor,
        q=q,
        circle=circle,
        tag=tag,
        updated_since=updated_since,
    )
    return json_response(
        Page[ContactPublic](items=[_public(c) for c in rows], next_cursor=next_cursor)
    )


@router.post(
    "",
    name="create",
    status_code=201,
    response_model=ContactPublic,
    summary="Create a contact",
    dependencies=[Depends(json_body)],
    responses=problem_responses(401, 409, 413, 415, 422),
)
async def create_contact(
    request: Request, body: ContactCreate, session: Session, user_id: UserId
) -> Response:
    contact = await service.create(session, user_id, body)
    return record_response(
        request,
        _public(contact),
        contact.version,
        status_code=201,
        location=f"/v1/contacts/{contact.id}",
    )


@router.get(
    "/{contact_id}",
    name="get",
    response_model=ContactPublic,
    summary="Get a contact",
    responses={304: {"description": "Not Modified"}, **problem_responses(401, 404, 422)},
)
async def get_contact(
    request: Request, contact_id: uuid.UUID, session: Session, user_id: UserId
) -> Response:
    contact = await service.get(session, user_id, contact_id)
    return record_response(request, _public(contact), contact.version)


@router.patch(
    "/{contact_id}",
    name="update",
    response_model=ContactPublic,
    summary="Update a contact (JSON merge patch)",
    dependencies=[Depends(json_body)],
    responses=problem_responses(401, 404, 412, 413, 415, 422),
)
async def update_contact(
    request: Request,
    contact_id: uuid.UUID,
    body: ContactUpdate,
    session: Session,
    user_id: UserId,
    if_match: Precondition,
) -> Response:
    contact = await service.update(session, user_id, contact_id, body, if_match)
    return record_response(request, _public(contact), contact.version)


@router.delete(
    "/{contact_id}",
    name="delete",
    status_code=204,
    summary="Delete a contact",
    description="Removes the contact from reads; a tombstone is kept for sync.",
    responses=problem_responses(401, 404, 412, 422),
)
async def delete_contact(
    contact_id: uuid.UUID, session: Session, user_id: UserId, if_match: Precondition
) -> Response:
    await service.delete(session, user_id, contact_id, if_match)
    return Response(status_code=204)
