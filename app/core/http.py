"""Building responses: JSON bodies with ETag, Location, and 304 for conditional reads."""

from __future__ import annotations

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from app.core.etags import etag_for, if_none_match_hits


def json_response(
    model: BaseModel,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(
        content=model.model_dump_json(),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def record_response(
    request: Request,
    model: BaseModel,
    version: int,
    *,
    status_code: int = 200,
    location: str | None = None,
    computed: str | None = None,
) -> Response:
    """A single record, with its ETag; 304 when the client's `If-None-Match` is current.

    `computed` names the parts of the representation derived from other records, so that the
    ETag changes when they do.
    """
    etag = etag_for(version, computed)
    if request.method == "GET" and if_none_match_hits(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag})
    headers = {"ETag": etag}
    if location:
        headers["Location"] = location
    return json_response(model, status_code=status_code, headers=headers)
