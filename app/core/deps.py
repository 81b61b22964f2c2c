"""Dependencies shared by every router."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import HTTPConnection

from app.core.errors import Unauthorized, UnsupportedMediaType
from app.core.etags import IfMatch
from app.core.pagination import DEFAULT_LIMIT, MAX_LIMIT
from app.core.runtime import Runtime, get_runtime
from app.core.security import decode_access_token

bearer_token = OAuth2PasswordBearer(
    tokenUrl="/v1/auth/token",
    auto_error=False,
    description="Sign in at `POST /v1/auth/token` (username = email) and send the access token "
    "as `Authorization: Bearer <token>`; renew it at `POST /v1/auth/refresh` before "
    "`expires_in` runs out. `POST /v1/scheduler/run` also takes the service credential here.",
)


# The dependencies below are `async def` although they never await: FastAPI runs a plain `def`
# dependency in its thread pool, a thread hop per dependency per request (about a third of
# the CPU of a small read, measured with the HTTP benchmark).


async def _runtime(conn: HTTPConnection) -> Runtime:
    return get_runtime(conn)


async def get_session(request: Request) -> AsyncSession:
    """The request's session, opened and committed by `RapportRoute`."""
    session: AsyncSession = request.state.session
    return session


def current_user_id(token: str | None, runtime: Runtime) -> uuid.UUID:
    """The caller's user id from their bearer token, or 401."""
    if not token:
        raise Unauthorized("Send an access token: `Authorization: Bearer <token>`.")
    user_id = decode_access_token(token, runtime.settings.signing_key)
    if user_id is None:
        raise Unauthorized(
            "The access token is invalid or expired; refresh it.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return user_id


async def _user_id(
    token: Annotated[str | None, Depends(bearer_token)],
    rt: Annotated[Runtime, Depends(_runtime)],
) -> uuid.UUID:
    return current_user_id(token, rt)


_JSON_TYPES = {"application/json", "application/merge-patch+json"}


async def json_body(request: Request) -> None:
    """415 for a request body that is not JSON (FastAPI would only say 422)."""
    if request.method in {"GET", "HEAD", "DELETE", "OPTIONS"}:
        return
    content_type = request.headers.get("content-type")
    if content_type is None:
        if request.headers.get("content-length", "0") in {"", "0"}:
            return
        raise UnsupportedMediaType("Send the body as `Content-Type: application/json`.")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in _JSON_TYPES:
        raise UnsupportedMediaType(
            f"`{media_type}` is not accepted here; send `application/json`"
            + (" or `application/merge-patch+json`." if request.method == "PATCH" else ".")
        )


Session = Annotated[AsyncSession, Depends(get_session)]
UserId = Annotated[uuid.UUID, Depends(_user_id)]
Rt = Annotated[Runtime, Depends(_runtime)]


async def _if_match(
    if_match: Annotated[
        str | None,
        Header(alias="If-Match", description="Apply only if the record's ETag still matches."),
    ] = None,
) -> IfMatch:
    return IfMatch(if_match)


Precondition = Annotated[IfMatch, Depends(_if_match)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")]
# No length limit here: an over-long cursor is a bad cursor (400), like any tampered one.
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page.")]
DEFAULT_PAGE = DEFAULT_LIMIT
