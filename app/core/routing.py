"""The route class every router uses: one transaction per request, and Idempotency-Key.

The session is opened here rather than in a `yield` dependency so that the commit happens
before the response leaves (a client never sees 201 for a write that then fails to commit),
and so that the stored idempotent response is written in the same transaction as the work.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, get_args, get_origin

from fastapi import Depends, Header
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from app.core.config import Settings
from app.core.errors import ProblemError, Unprocessable
from app.core.idempotency import MAX_KEY_LENGTH, Reservation, request_fingerprint, valid_key
from app.core.runtime import get_runtime
from app.core.security import decode_access_token, is_service_token


async def _idempotency_key_header(
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=MAX_KEY_LENGTH,
            pattern=r"^[\x21-\x7e][\x20-\x7e]*$",
            description=(
                "Makes a retried POST safe: the same key and body within 24 h replays the "
                "first response instead of acting twice."
            ),
        ),
    ] = None,
) -> None:
    """Declares and validates the header; the route class does the work."""


def _caller_scope(request: Request, settings: Settings) -> str:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token:
        user_id = decode_access_token(token, settings.signing_key)
        if user_id is not None:
            return user_id.hex
        if is_service_token(token, settings.service_token):
            # The service credential has keys of its own: never replayed to anyone else.
            return "service"
    return "anonymous"


def _single_valued_query_params(dependant: Dependant) -> frozenset[str]:
    """The query parameters of a route (and its dependencies) that take one value."""
    names: set[str] = set()
    stack = [dependant]
    while stack:
        current = stack.pop()
        for param in current.query_params:
            annotation = param.field_info.annotation
            if not any(
                get_origin(a) in (list, set, tuple) for a in (annotation, *get_args(annotation))
            ):
                names.add(param.alias)
        stack.extend(current.dependencies)
    return frozenset(names)


def _refuse_repeated_query_params(request: Request, single: frozenset[str]) -> None:
    # Starlette hands a route the *last* of `?limit=1&limit=2`, while a proxy, a WAF or a log
    # may read the first: a parameter given twice is ambiguous (HTTP parameter pollution), so
    # it is a 422 naming it rather than a silent pick.
    counts = Counter(name for name, _ in request.query_params.multi_items())
    repeated = sorted(name for name, count in counts.items() if count > 1 and name in single)
    if repeated:
        raise Unprocessable(
            f"Invalid input: {', '.join('query.' + name for name in repeated)}.",
            errors=[
                {
                    "field": f"query.{name}",
                    "message": "Give this parameter at most once.",
                    "code": "repeated_parameter",
                }
                for name in repeated
            ],
        )


class RapportRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if "POST" in (kwargs.get("methods") or ()):
            kwargs["dependencies"] = [
                *(kwargs.get("dependencies") or []),
                Depends(_idempotency_key_header),
            ]
        super().__init__(path, endpoint, **kwargs)
        if "PATCH" in (self.methods or ()) and self.body_field is not None:
            # PATCH bodies are JSON merge patches: document both media types clients may send.
            model = self.body_field.field_info.annotation
            schema = {"$ref": f"#/components/schemas/{getattr(model, '__name__', 'object')}"}
            extra = {
                "requestBody": {"content": {"application/merge-patch+json": {"schema": schema}}}
            }
            self.openapi_extra = {**(self.openapi_extra or {}), **extra}
        self._single_query = _single_valued_query_params(self.dependant)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            _refuse_repeated_query_params(request, self._single_query)
            runtime = get_runtime(request)
            reservation: Reservation | None = None
            key = request.headers.get("idempotency-key")
            if request.method == "POST" and key is not None and valid_key(key):
                scope = _caller_scope(request, runtime.settings)
                reserved = await runtime.idempotency.reserve(
                    scope, key, await request_fingerprint(request)
                )
                if isinstance(reserved, Response):
                    return reserved
                reservation = reserved

            sessions = runtime.db.sessions_for(request.method)
            try:
                async with sessions() as session:
                    request.state.session = session
                    try:
                        response = await handler(request)
                    except ProblemError as error:
                        if error.commit:
                            await session.commit()
                        raise
                    remember = reservation is not None and 200 <= response.status_code < 300
                    if remember:
                        assert reservation is not None
                        await runtime.idempotency.complete(session, reservation, response)
                    if sessions is not runtime.db.read_sessions:
                        # A read has nothing to commit: closing the session ends it, for a
                        # tenth less CPU (SQLite's read connections refuse writes, PostgreSQL
                        # runs reads in autocommit: app/core/db.py).
                        await session.commit()
            except BaseException:
                if reservation is not None:
                    await runtime.idempotency.release(reservation)
                raise
            if reservation is not None and not remember:
                await runtime.idempotency.release(reservation)
            return response

        return route
