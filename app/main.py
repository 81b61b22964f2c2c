"""The application factory."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp
from uvicorn.config import STARTUP_FAILURE
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.asks.router import router as asks_router
from app.auth.router import router as auth_router
from app.calendar.redact import redact, redact_feed_tokens
from app.calendar.router import router as calendar_router
from app.contacts.router import router as contacts_router
from app.core import observability
from app.core.config import InvalidSettings, Settings, load_settings
from app.core.errors import (
    install_error_handlers,
    problem_response,
    problem_responses,
    problems_only,
)
from app.core.logs import configure_logging
from app.core.middleware import BodyLimitMiddleware
from app.core.runtime import Runtime
from app.etiquette.router import router as etiquette_router
from app.interactions.router import router as interactions_router
from app.scheduler.router import router as scheduler_router
from app.sync.router import router as sync_router
from app.transfer.router import router as transfer_router

log = logging.getLogger("rapport")

DESCRIPTION = """
Rapport keeps a person's career network: contacts, interactions, asks for help in both
directions, and the etiquette tasks that follow from them.

Errors are RFC 9457 `application/problem+json`. Writes accept `Idempotency-Key`; reads return
an `ETag`, and `If-Match` guards updates. Times are RFC 3339 with an offset in, UTC `Z` out.
"""


# One tag per domain, in the order a client developer meets them.
TAGS = [
    {"name": "health", "description": "Probes for load balancers and orchestrators."},
    {
        "name": "auth",
        "description": "Create an account, sign in for a token pair, refresh it. "
        "Send the access token as `Authorization: Bearer <token>` everywhere else.",
    },
    {"name": "me", "description": "The signed-in user: display name, email and time zone."},
    {
        "name": "contacts",
        "description": "The people in your network, their circle and keep-in-touch cadence; "
        "import and export as vCard or CSV.",
    },
    {
        "name": "interactions",
        "description": "Meetings, calls, emails and events with a contact, done or planned.",
    },
    {
        "name": "asks",
        "description": "Help asked of a contact or by a contact, with etiquette warnings.",
    },
    {
        "name": "etiquette-tasks",
        "description": "Thank-you notes, confirmations and check-ins the rules create, and "
        "your own.",
    },
    {
        "name": "calendar",
        "description": "An iCalendar feed of what is due, behind a secret you can rotate.",
    },
    {"name": "follow-ups", "description": "Who and what is overdue, computed live."},
    {"name": "reciprocity", "description": "Help given and received, decayed over time."},
    {
        "name": "scheduler",
        "description": "Runs the time-based rules; for you, or for everyone with the service "
        "credential.",
    },
    {"name": "sync", "description": "A changes feed for offline copies."},
]


class Liveness(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: str = Field(description="Always `ok`.")


class Readiness(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ready"}]})

    status: str = Field(description="Always `ready`; otherwise the answer is a 503 problem.")


def _operation_id(route: APIRoute) -> str:
    # Reads well in generated clients: `contacts-list` becomes `contacts_list(...)`.
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def _health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get(
        "/healthz",
        name="liveness",
        response_model=Liveness,
        summary="Liveness: the process answers",
        description="Answers without touching the database: restart the process if it fails.",
    )
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        name="readiness",
        summary="Readiness: the database answers",
        description="Pings the database within 3 s. A 503 (with `Retry-After`) means: send no "
        "traffic to this replica for now.",
        response_model=Readiness,
        responses=problem_responses(503),
    )
    async def readyz(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        try:
            await asyncio.wait_for(runtime.db.ping(), timeout=3)
        except Exception as exc:  # any failure to reach the database means "not ready"
            log.warning("readiness check failed: %s", type(exc).__name__)
            return problem_response(
                503, "The database is unreachable.", headers={"Retry-After": "5"}
            )
        return JSONResponse({"status": "ready"})

    return router


# What browsers may send and read across origins (when RAPPORT_CORS_ORIGINS allows any).
CORS_ALLOW_HEADERS = [
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "Idempotency-Key",
    "X-Request-ID",
]
CORS_EXPOSE_HEADERS = ["ETag", "Location", "Retry-After", "X-Request-ID"]
CORS_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


class RapportApp(FastAPI):
    """FastAPI with layers outside Starlette's error middleware.

    `add_middleware` always lands inside `ServerErrorMiddleware`, which answers a 500 itself;
    the request id, the access line and CORS headers must be on that answer too, and the proxy
    headers must be read before anything looks at the client's address.
    """

    outer: Callable[[ASGIApp], ASGIApp] = staticmethod(lambda app: app)

    def build_middleware_stack(self) -> ASGIApp:
        return self.outer(super().build_middleware_stack())


def _outer_layers(settings: Settings) -> Callable[[ASGIApp], ASGIApp]:
    def wrap(app: ASGIApp) -> ASGIApp:
        if settings.cors_origins:
            app = CORSMiddleware(
                app,
                allow_origins=settings.cors_origins,
                allow_methods=CORS_METHODS,
                allow_headers=CORS_ALLOW_HEADERS,
                expose_headers=CORS_EXPOSE_HEADERS,
                # Bearer tokens, not cookies: no credentialed requests to allow.
                allow_credentials=False,
                max_age=600,
            )
        app = observability.ObservabilityMiddleware(app)
        # Launch uvicorn with --no-proxy-headers: this is the one place forwarded headers are
        # read, from RAPPORT_TRUSTED_PROXIES only.
        return cast(ASGIApp, ProxyHeadersMiddleware(cast(Any, app), settings.trusted_proxies))

    return wrap


def _quiet_uvicorn_access_log() -> None:
    # The JSON line per request replaces it. Without handlers uvicorn skips it entirely
    # (it checks `hasHandlers()` for each connection).
    logger = logging.getLogger("uvicorn.access")
    logger.handlers.clear()
    logger.propagate = False


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(settings.log_level, scrub=redact)
    redact_feed_tokens()
    runtime = Runtime(settings)
    engines = {"writer": runtime.db.writer, "reader": runtime.db.reader}
    for name, engine in engines.items():
        if name == "writer" or engine.pool is not runtime.db.writer.pool:
            observability.instrument_pool(name, engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Said when the server starts, not on import (tools import the app too).
        if settings.secret_key is None:
            log.warning(
                "RAPPORT_SECRET_KEY is not set: using a random key for this process; "
                "tokens will not survive a restart. Set it for any real deployment."
            )
        if not settings.uvicorn_access_log:
            _quiet_uvicorn_access_log()
        observability.worker_started()
        yield
        observability.worker_stopping()
        await runtime.db.dispose()

    app = RapportApp(
        title="Rapport",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        openapi_tags=TAGS,
    )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problems_only(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.state.runtime = runtime
    app.outer = _outer_layers(settings)  # type: ignore[method-assign]
    install_error_handlers(app, on_unexpected=observability.unhandled_exception)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        path_limits={"/v1/contacts/import": settings.import_max_bytes},
    )
    app.include_router(_health_router())
    app.include_router(observability.metrics_router())
    app.include_router(auth_router)
    # Before contacts: its `/{contact_id}` would take `/v1/contacts/export`.
    app.include_router(transfer_router)
    app.include_router(contacts_router)
    app.include_router(interactions_router)
    app.include_router(asks_router)
    app.include_router(etiquette_router)
    app.include_router(calendar_router)
    app.include_router(scheduler_router)
    app.include_router(sync_router)
    return app


try:
    app = create_app()
except InvalidSettings as exc:
    # One line naming the variable, not a validation traceback. uvicorn's startup-failure
    # status: a supervisor of several workers stops instead of restarting them for ever.
    print(exc, file=sys.stderr)
    raise SystemExit(STARTUP_FAILURE) from None
