"""Domain errors and their RFC 9457 `application/problem+json` rendering.

Services raise `ProblemError` subclasses and know nothing of HTTP responses; the handlers
installed by `install_error_handlers` are the one place that turns any error into a response.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.core.logs import request_id

log = logging.getLogger("rapport")

PROBLEM_JSON = "application/problem+json"


class FieldError(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "field": "body.full_name",
                    "message": "String should have at least 1 character",
                    "code": "string_too_short",
                }
            ]
        }
    )

    field: str = Field(description="Dotted path of the offending input, e.g. `body.full_name`.")
    message: str
    code: str = Field(description="Machine-readable reason, e.g. `string_too_long`.")


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/not-found",
                    "title": "Not Found",
                    "status": 404,
                    "detail": "No contact with this id.",
                    "request_id": "4f1c2a9e7b3d4c5f8a6e0d1b2c3f4a5e",
                }
            ]
        }
    )

    type: str = Field(description="A URI reference naming the kind of problem.")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = Field(
        None, description="For 422: one entry for each invalid field."
    )
    # An extension member (RFC 9457 §3.2): what a user quotes to support and an operator finds
    # in the logs.
    request_id: str | None = Field(
        None,
        description="The request's id, as in the `X-Request-ID` response header and the "
        "server's log line for it.",
    )


class ProblemError(Exception):
    status = 500
    slug = "internal"
    default_detail = "The server could not complete the request."

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, str]] | None = None,
        commit: bool = False,
    ) -> None:
        super().__init__(detail or self.default_detail)
        self.detail = detail or self.default_detail
        self.headers = headers or {}
        self.errors = errors
        # True when the request failed but what it recorded must stay (a failed login, a
        # revoked token family): the request's transaction commits before the error is sent.
        self.commit = commit


class BadRequest(ProblemError):
    status, slug, default_detail = 400, "bad-request", "The request is malformed."


class Unauthorized(ProblemError):
    status, slug, default_detail = 401, "unauthorized", "Missing or invalid credentials."

    def __init__(self, detail: str | None = None, **kw: Any) -> None:
        super().__init__(detail, **kw)
        self.headers.setdefault("WWW-Authenticate", "Bearer")


class NotFound(ProblemError):
    status, slug, default_detail = 404, "not-found", "No such resource."


class Conflict(ProblemError):
    status, slug, default_detail = 409, "conflict", "The request conflicts with current state."


class Gone(ProblemError):
    status, slug, default_detail = 410, "gone", "This resource is no longer available."


class IdempotencyKeyInFlight(Conflict):
    # Its own type: unlike other conflicts, this one is worth retrying (after Retry-After).
    slug = "idempotency-key-in-flight"


class PreconditionFailed(ProblemError):
    status, slug, default_detail = (
        412,
        "precondition-failed",
        "If-Match does not match the current ETag: fetch the record again and retry.",
    )


class ContentTooLarge(ProblemError):
    status, slug, default_detail = 413, "content-too-large", "The request content is too large."


class UnsupportedMediaType(ProblemError):
    status, slug, default_detail = 415, "unsupported-media-type", "Unsupported Content-Type."


class Unprocessable(ProblemError):
    status, slug, default_detail = 422, "validation-error", "The request is not valid."


class IdempotencyKeyReused(Unprocessable):
    # Its own type: the fix is a new key, not other input.
    slug = "idempotency-key-reused"


class TooManyRequests(ProblemError):
    status, slug, default_detail = 429, "too-many-requests", "Too many requests; retry later."

    def __init__(self, detail: str | None = None, *, retry_after: int, **kw: Any) -> None:
        super().__init__(detail, **kw)
        self.headers["Retry-After"] = str(max(1, retry_after))


_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    410: "gone",
    412: "precondition-failed",
    413: "content-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "too-many-requests",
    503: "unavailable",
}


def problem_response(
    status: int,
    detail: str | None = None,
    *,
    slug: str | None = None,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, str]] | None = None,
    instance: str | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"/problems/{slug or _SLUGS.get(status, 'error')}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    current = request_id.get()
    if current is not None:
        body["request_id"] = current
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def validation_errors(raw: Any) -> list[dict[str, str]]:
    out = []
    for err in raw:
        message = str(err.get("msg", "invalid"))
        if err.get("type") == "json_invalid":
            message = f"Invalid JSON: {err.get('ctx', {}).get('error', 'malformed')}"
        out.append(
            {
                "field": _field_path(err.get("loc", ())),
                "message": message,
                "code": str(err.get("type", "invalid")),
            }
        )
    return out


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]
    return ", ".join(allowed)


def install_error_handlers(app: FastAPI, on_unexpected: Callable[[], None] = lambda: None) -> None:
    """`on_unexpected` is told of each error no handler expected (to count them)."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(
            exc.status, exc.detail, slug=exc.slug, headers=exc.headers, errors=exc.errors
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc.errors())
        fields = ", ".join(e["field"] for e in errors[:5])
        return problem_response(422, f"Invalid input: {fields}.", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else None
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No route matches {request.url.path}."
        headers = dict(exc.headers or {})
        if exc.status_code == 400 and detail == _UNPARSABLE_BODY:
            # FastAPI's answer to a body it cannot decode (bytes that are not UTF-8): the same
            # 422 `json_invalid` as any other malformed JSON, so clients handle one case.
            return problem_response(
                422,
                "Invalid input: body.",
                errors=[{"field": "body", "message": "Invalid JSON", "code": "json_invalid"}],
            )
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed here; see the Allow header."
            headers["Allow"] = _allowed_methods(request)
        return problem_response(exc.status_code, detail, headers=headers)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # A unique or foreign-key constraint refused the write: the request raced another one.
        # The constraint, not the driver's message: that quotes the row's values.
        driver_error = getattr(exc.orig, "__cause__", None) or exc.orig
        constraint = getattr(driver_error, "constraint_name", None)
        log.info("integrity error: %s %s", type(driver_error).__name__, constraint or "")
        return problem_response(409, "The write conflicts with another record; retry.")

    @app.exception_handler(PoolTimeoutError)
    async def _pool_timeout(request: Request, exc: PoolTimeoutError) -> JSONResponse:
        log.warning("database pool exhausted")
        return problem_response(
            503, "The database is busy; retry shortly.", headers={"Retry-After": "1"}
        )

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", exc.orig)
        return _unavailable()

    @app.exception_handler(OSError)
    async def _os_error(request: Request, exc: OSError) -> JSONResponse:
        # asyncpg's connect failures (refused, unreachable, DNS, its connect timeout, which is
        # a TimeoutError and so an OSError) reach us unwrapped by SQLAlchemy.
        if _raised_by_database_driver(exc):
            log.warning("database unreachable: %s", type(exc).__name__)
            return _unavailable()
        return await _unexpected(request, exc)

    @app.exception_handler(DBAPIError)
    async def _dbapi(request: Request, exc: DBAPIError) -> JSONResponse:
        # PostgreSQL broke a deadlock or a serialization conflict between concurrent requests:
        # nothing was written, and the same request will go through on a retry.
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if code in _RETRYABLE_SQLSTATES:
            log.warning("concurrent requests conflicted (%s) on %s", code, request.url.path)
            return problem_response(
                503,
                "The request conflicted with a concurrent one and was rolled back; retry.",
                headers={"Retry-After": "1"},
            )
        if exc.connection_invalidated or str(code or "")[:2] in _UNAVAILABLE_SQLSTATE_CLASSES:
            # The connection died under the request (the server shut down or crashed), or
            # PostgreSQL refuses work for now (starting up, too many connections, cancelled).
            log.warning("database unavailable (%s): %s", code, exc.orig)
            return _unavailable()
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        on_unexpected()
        route = getattr(request.scope.get("route"), "path_format", "unmatched")
        log.exception("unhandled error on %s %s", request.method, route)
        return problem_response(500, "An unexpected error occurred; it has been logged.")


_RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure
# connection_exception, insufficient_resources, operator_intervention (admin shutdown, cannot
# connect now, query_canceled by statement_timeout).
_UNAVAILABLE_SQLSTATE_CLASSES = {"08", "53", "57"}
_DRIVER_MODULES = ("asyncpg", "aiosqlite", "sqlite3", "sqlalchemy")


def _unavailable() -> JSONResponse:
    return problem_response(
        503, "The database is unavailable; retry shortly.", headers={"Retry-After": "2"}
    )


def _raised_by_database_driver(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__", "").startswith(_DRIVER_MODULES):
            return True
        tb = tb.tb_next
    return False


_UNPARSABLE_BODY = "There was an error parsing the body"


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$", "examples": ["30"]},
    }
}
# Headers every problem of these statuses carries (the handlers above always set them).
_PROBLEM_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": '`Bearer`; `Bearer error="invalid_token"` for an expired or '
            "invalid access token (refresh it).",
            "required": True,
            "schema": {"type": "string", "examples": ["Bearer"]},
        }
    },
    429: _RETRY_AFTER,
    503: _RETRY_AFTER,
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries declaring problem bodies for the given statuses."""
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            **({"headers": _PROBLEM_HEADERS[status]} if status in _PROBLEM_HEADERS else {}),
        }
        for status in statuses
    }


def problems_only(document: dict[str, Any]) -> dict[str, Any]:
    """Drops the `application/json` twin FastAPI adds beside each declared problem body.

    `model=Problem` is what registers the schema in components, but FastAPI then also lists
    it under the route's media type; errors are only ever sent as problem+json, and a client
    generated from the document should expect exactly that.
    """
    for item in document.get("paths", {}).values():
        for operation in item.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status[0] in "45" and PROBLEM_JSON in content:
                    content.pop("application/json", None)
    return document
