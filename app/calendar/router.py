"""HTTP for the calendar feed and its secret."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import Response

from app.calendar import service
from app.calendar.ics import MEDIA_TYPE, render
from app.calendar.models import CalendarToken
from app.core.db import utcnow
from app.core.deps import Rt, Session, UserId, json_body
from app.core.errors import problem_responses
from app.core.etags import if_none_match_hits
from app.core.http import json_response
from app.core.routing import RapportRoute

router = APIRouter(prefix="/v1", tags=["calendar"], route_class=RapportRoute)

FEED_ROUTE = "feed"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# The feed changes without any request of its owner (days pass): clients may keep a copy but
# must ask again, cheaply, with If-None-Match. `private`: the URL is a secret.
_FEED_CACHE = {"Cache-Control": "private, no-cache"}
_ICS = (
    "BEGIN:VCALENDAR\r\nPRODID:-//Rapport//Calendar feed 1.0//EN\r\nVERSION:2.0\r\n"
    "CALSCALE:GREGORIAN\r\nX-WR-CALNAME:Rapport\r\n"
    "BEGIN:VEVENT\r\nSUMMARY:Thank-you note: Grace Hopper\r\n"
    "DTSTART;VALUE=DATE:20261128\r\nDTEND;VALUE=DATE:20261129\r\n"
    "DTSTAMP:20261126T100000Z\r\nUID:task-9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d@rapport\r\n"
    "CATEGORIES:etiquette_task\r\nTRANSP:TRANSPARENT\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)


def feed_url(request: Request, token: str) -> str:
    """The feed's absolute URL as the caller reached us.

    Scheme and client come from the request's scope, which the app's proxy-headers layer
    rewrites from `X-Forwarded-Proto`/`-For` sent by a trusted proxy (RAPPORT_TRUSTED_PROXIES);
    the host is the `Host` header, which proxies pass on; `root_path` is kept. The path is
    looked up on this router only, so a route elsewhere with the same name cannot be chosen.
    """
    path = router.url_path_for(FEED_ROUTE, feed_token=token)
    return str(path.make_absolute_url(request.base_url))


@router.post(
    "/me/calendar-token",
    name="rotate-token",
    status_code=201,
    response_model=CalendarToken,
    summary="Create or rotate the secret of your calendar feed",
    description="Returns a new secret and the feed URL that holds it. The previous secret, "
    "if any, stops working at once. The secret is shown only here (only its hash is stored). "
    "With an `Idempotency-Key`, a retry within 24 h replays the same secret instead of "
    "rotating again.",
    dependencies=[Depends(json_body)],
    responses={
        201: {
            "links": {
                "read_feed": {
                    "operationId": "calendar-feed",
                    "parameters": {"feed_token": "$response.body#/token"},
                    "description": "The feed this secret opens.",
                }
            }
        },
        **problem_responses(401, 404, 409, 413, 415, 422),
    },
)
async def rotate_token(request: Request, session: Session, user_id: UserId) -> Response:
    token = await service.rotate_token(session, user_id)
    body = CalendarToken(token=token, url=feed_url(request, token))
    # No Location: it would hold the secret, and an idempotent replay stores headers as they
    # are (only the body is sealed).
    return json_response(body, status_code=201, headers=_NO_STORE)


@router.delete(
    "/me/calendar-token",
    name="delete-token",
    status_code=204,
    summary="Disable your calendar feed",
    description="The feed URL stops working at once. 404 when no feed is enabled.",
    responses=problem_responses(401, 404),
)
async def delete_token(session: Session, user_id: UserId) -> Response:
    await service.disable(session, user_id)
    return Response(status_code=204)


FeedToken = Annotated[
    str,
    # No length or pattern here: any string that is not a live secret is a 404, never a 422.
    Path(description="The secret from `POST /v1/me/calendar-token`."),
]


@router.get(
    "/calendar/{feed_token}.ics",
    name=FEED_ROUTE,
    summary="Your calendar feed (iCalendar), to subscribe to",
    description="No `Authorization` header: the secret in the path is the credential. "
    "All-day events in your time zone: pending etiquette tasks, reconnects, promises and "
    "nudges due within 30 days on their due date, anything overdue (or undated) on today, "
    "with the days overdue in the title. At most `RAPPORT_CALENDAR_MAX_EVENTS` events, the "
    "earliest due first. An unknown, rotated or disabled secret is 404.",
    response_class=Response,
    responses={
        200: {
            "description": "The feed.",
            "content": {"text/calendar": {"schema": {"type": "string"}, "example": _ICS}},
        },
        304: {"description": "Not Modified: the feed is unchanged since this ETag."},
        # Any path segment is a valid string, so 422 never happens; declared as a problem only
        # so that FastAPI does not add its own non-problem 422 for the path parameter.
        **problem_responses(404, 422),
    },
)
async def calendar_feed(
    request: Request, feed_token: FeedToken, session: Session, rt: Rt
) -> Response:
    user = await service.owner_of(session, feed_token)
    feed = await service.feed(session, user, now=utcnow(), limit=rt.settings.calendar_max_events)
    body = render(feed)
    # The body depends only on stored state and on the date and days overdue it shows (each
    # DTSTAMP is its record's own time, not the request's), so its digest is a strong ETag.
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, **_FEED_CACHE}
    if if_none_match_hits(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = 'inline; filename="rapport.ics"'
    return Response(content=body, media_type=MEDIA_TYPE, headers=headers)
