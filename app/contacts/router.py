"""HTTP for contacts."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.convertors import StringConvertor, register_url_convertor
from starlette.responses import Response

from app.contacts import service
from app.contacts.models import ContactCreate, ContactPublic, ContactUpdate
from app.core.deps import DEFAULT_PAGE, Cursor, Limit, Precondition, Rt, Session, UserId, json_body
from app.core.errors import problem_responses
from app.core.http import Encoder, json_response, record_response
from app.core.pagination import Page
from app.core.routing import RapportRoute
from app.core.types import Text, UTCDatetime
from app.core.vocabulary import Circle

router = APIRouter(prefix="/v1/contacts", tags=["contacts"], route_class=RapportRoute)


class _ContactIdConvertor(StringConvertor):
    """Any path segment but `import` and `export`, which are resources of their own.

    Without it `PATCH /v1/contacts/import` would reach the contact routes (and answer 415 or
    422) instead of 405 with `Allow: POST`. Anything else still reaches them, so a malformed id
    stays a 422 that names the field.
    """

    regex = "(?!(?:import|export)$)[^/]+"


register_url_convertor("contact_id", _ContactIdConvertor())


_public = Encoder(ContactPublic)


# What a new contact's id is for, as OpenAPI links: tools that follow them (schemathesis's
# stateful phase) create records for the contact instead of guessing a `contact_id`. The body
# is merged into the target's own (`contact_id` only), as schemathesis reads link bodies.
_NEW_CONTACT_LINKS = {
    name: {
        "operationId": operation,
        "requestBody": {"contact_id": "$response.body#/id"},
        "description": description,
    }
    for name, operation, description in [
        ("log_interaction", "interactions-create", "Log or plan an interaction with them."),
        ("record_ask", "asks-create", "Record an ask to or from them."),
        ("create_task", "etiquette-tasks-create", "Add a task about them."),
    ]
}


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
    return json_response(_public.page(rows, next_cursor))


@router.post(
    "",
    name="create",
    status_code=201,
    response_model=ContactPublic,
    summary="Create a contact",
    description=(
        "Only `full_name` is required; `circle` defaults to `other`, whose keep-in-touch "
        "cadence is 90 days unless `cadence_days` says otherwise. Answers 201 with `Location` "
        "and `ETag`. Send an `Idempotency-Key` to retry safely."
    ),
    dependencies=[Depends(json_body)],
    responses={201: {"links": _NEW_CONTACT_LINKS}, **problem_responses(401, 409, 413, 415, 422)},
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
    "/{contact_id:contact_id}",
    name="get",
    response_model=ContactPublic,
    summary="Get a contact",
    description=(
        "Answers with an `ETag`; send it back as `If-None-Match` to get a 304 without a body "
        "when nothing changed, or as `If-Match` to guard an update. Another user's contact is "
        "404, exactly like a missing one."
    ),
    responses={304: {"description": "Not Modified"}, **problem_responses(401, 404, 422)},
)
async def get_contact(
    request: Request, contact_id: uuid.UUID, session: Session, user_id: UserId
) -> Response:
    contact = await service.read(session, user_id, contact_id)
    return record_response(request, lambda: _public(contact), contact.version)


@router.patch(
    "/{contact_id:contact_id}",
    name="update",
    response_model=ContactPublic,
    summary="Update a contact (JSON merge patch)",
    description=(
        "Absent fields stay as they are; `null` clears a field (lists become `[]`); "
        "`full_name`, `circle` and `track_follow_ups` cannot be null. A new `circle` or "
        "`cadence_days` moves the contact's follow-up date; a stale `If-Match` is 412."
    ),
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
    return record_response(request, lambda: _public(contact), contact.version)


@router.delete(
    "/{contact_id:contact_id}",
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
