"""HTTP for accounts: register, token, refresh, me."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from app.auth import service
from app.auth.models import (
    LoginForm,
    RefreshRequest,
    TokenPair,
    UserPublic,
    UserRegister,
    UserUpdate,
)
from app.core.deps import Precondition, Rt, Session, UserId, json_body
from app.core.errors import problem_responses
from app.core.http import json_response, record_response
from app.core.routing import RapportRoute

router = APIRouter(prefix="/v1", route_class=RapportRoute)

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _public(user: object) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)


@router.post(
    "/auth/register",
    name="register",
    tags=["auth"],
    status_code=201,
    response_model=UserPublic,
    summary="Create an account",
    description="Creates a user. The password is stored as an Argon2id hash and never returned.",
    dependencies=[Depends(json_body)],
    responses=problem_responses(409, 413, 415, 422),
)
async def register(request: Request, body: UserRegister, session: Session) -> Response:
    user = await service.register(session, body)
    return record_response(request, _public(user), user.version, status_code=201, location="/v1/me")


@router.post(
    "/auth/token",
    name="token",
    tags=["auth"],
    response_model=TokenPair,
    summary="Sign in (OAuth2 password grant)",
    description=(
        "Form fields `username` (the email) and `password`. Returns a short-lived access "
        "token and a refresh token. Repeated failures are throttled per account and per "
        "client address (429 with `Retry-After`)."
    ),
    responses=problem_responses(401, 413, 422, 429),
)
async def token(
    request: Request,
    form: Annotated[LoginForm, Form()],
    session: Session,
    rt: Rt,
) -> Response:
    address = request.client.host if request.client else "unknown"
    pair = await service.login(session, rt.settings, form.username, form.password, address)
    return json_response(pair, headers=_NO_STORE)


@router.post(
    "/auth/refresh",
    name="refresh",
    tags=["auth"],
    response_model=TokenPair,
    summary="Exchange a refresh token for a new pair",
    description=(
        "Rotates the refresh token: the one sent stops working. Sending an already-rotated "
        "token again revokes every token of that sign-in."
    ),
    dependencies=[Depends(json_body)],
    responses=problem_responses(401, 413, 415, 422),
)
async def refresh(body: RefreshRequest, session: Session, rt: Rt) -> Response:
    pair = await service.refresh(session, rt.settings, body.refresh_token)
    return json_response(pair, headers=_NO_STORE)


@router.get(
    "/me",
    name="get",
    tags=["me"],
    response_model=UserPublic,
    summary="The calling user",
    description=(
        "The user the access token belongs to, with an `ETag` (`If-None-Match` → 304). The "
        "time zone decides the calendar feed's days and how national phone numbers are read."
    ),
    responses={304: {"description": "Not Modified"}, **problem_responses(401, 404)},
)
async def get_me(request: Request, session: Session, user_id: UserId) -> Response:
    user = await service.get_me(session, user_id)
    return record_response(request, _public(user), user.version)


@router.patch(
    "/me",
    name="update",
    tags=["me"],
    response_model=UserPublic,
    summary="Update the calling user (JSON merge patch)",
    description=(
        "Change the email, display name or time zone (an IANA name such as `Europe/Paris`). "
        "Absent fields stay as they are. An email another account uses is 409; a stale "
        "`If-Match` is 412 and changes nothing."
    ),
    dependencies=[Depends(json_body)],
    responses=problem_responses(401, 404, 409, 412, 413, 415, 422),
)
async def update_me(
    request: Request,
    body: UserUpdate,
    session: Session,
    user_id: UserId,
    if_match: Precondition,
) -> Response:
    user = await service.update_me(session, user_id, body, if_match)
    return record_response(request, _public(user), user.version)
