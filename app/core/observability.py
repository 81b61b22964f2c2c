"""Metrics in Prometheus format, summed over every worker process of one server, and the
middleware that measures, logs and names each request.

Workers are separate processes, and a scrape reaches one of them: each process writes its
samples to files in a folder all workers of the server share (prometheus_client's multiprocess
mode), and whichever worker answers `/metrics` sums them. The folder must be known before
prometheus_client is imported, so it is set up on import of this module.
"""

# ruff: noqa: E402 (prometheus_client must be imported after its folder is set up)
from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _start_time(pid: int) -> str | None:
    """When process `pid` started (Linux /proc), or None: tells a pid from a reused one."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime); the name in field 2 may hold spaces, so count from its end.
    return raw.rsplit(")", 1)[1].split()[19]


def _server_key() -> str:
    # Workers that uvicorn (or any multiprocessing parent) spawned share their parent's key; a
    # single process is its own server. The start time makes the key of a restarted server
    # new even when its pid is the same (pid 1 in a restarted container).
    parent = multiprocessing.parent_process()
    pid = parent.pid if parent is not None and parent.pid is not None else os.getpid()
    return f"{pid}-{_start_time(pid) or 0}"


def _is_ours(path: Path) -> bool:
    # The temp folder is shared with other users: use only a real folder this user owns.
    info = path.lstat()
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()


def _remove_stale(base: Path) -> None:
    """Folders of servers that are gone (their key no longer names a running process)."""
    for folder in base.iterdir():
        pid, _, start = folder.name.partition("-")
        if pid.isdigit() and _start_time(int(pid)) != start:
            shutil.rmtree(folder, ignore_errors=True)


def _metrics_folder() -> Path | None:
    base = Path(tempfile.gettempdir()) / f"rapport-metrics-{os.getuid()}"
    try:
        base.mkdir(mode=0o700, exist_ok=True)
        if not _is_ours(base):
            return None
        if Path("/proc/self/stat").exists():
            _remove_stale(base)
        folder = base / _server_key()
        folder.mkdir(mode=0o700, exist_ok=True)
        return folder if _is_ours(folder) else None
    except OSError:
        return None


METRICS_FOLDER = _metrics_folder()
if METRICS_FOLDER is not None:
    # Always ours: a value inherited from a parent process names another server's folder.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(METRICS_FOLDER)
else:
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)

# After the folder is chosen: prometheus_client picks its storage on import.
from fastapi import APIRouter, Request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import Unauthorized, problem_response
from app.core.logs import accept_request_id, request_id
from app.core.runtime import get_runtime
from app.core.security import is_service_token

log = logging.getLogger("rapport")
access_log = logging.getLogger("rapport.access")

REQUESTS = Counter(
    "rapport_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["method", "route", "status"],
)
DURATION = Histogram(
    "rapport_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by route template, method and "
    "status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
PROBLEMS = Counter(
    "rapport_problems",
    "Error responses (application/problem+json) answered, by status.",
    ["status"],
)
UNHANDLED = Counter(
    "rapport_unhandled_exceptions",
    "Errors no handler expected: answered 500 and logged with a traceback.",
)
POOL_IN_USE = Gauge(
    "rapport_db_pool_connections_in_use",
    "Database connections checked out of the pool now, summed over live workers.",
    ["engine"],
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "rapport_db_pool_size",
    "Connections the pool keeps open, summed over live workers.",
    ["engine"],
    multiprocess_mode="livesum",
)
POOL_OVERFLOW = Gauge(
    "rapport_db_pool_max_overflow",
    "Connections the pool may open beyond its size under load, summed over live workers.",
    ["engine"],
    multiprocess_mode="livesum",
)
SCHEDULER_RUNS = Counter(
    "rapport_scheduler_runs",
    "Scheduler runs completed, by scope (user: one user's token; all: the service credential).",
    ["scope"],
)
TASKS_CREATED = Counter(
    "rapport_scheduler_tasks_created",
    "Etiquette tasks the scheduler's rules created, by scope of the run.",
    ["scope"],
)


def scheduler_run(scope: str, tasks_created: int) -> None:
    SCHEDULER_RUNS.labels(scope).inc()
    TASKS_CREATED.labels(scope).inc(tasks_created)


def unhandled_exception() -> None:
    UNHANDLED.inc()


def instrument_pool(name: str, engine: AsyncEngine) -> None:
    """Keep the pool gauges of `engine` current (checkout and checkin events)."""
    pool = engine.sync_engine.pool
    size = getattr(pool, "size", None)
    overflow = getattr(pool, "_max_overflow", 0)
    POOL_SIZE.labels(name).set(size() if callable(size) else 1)
    POOL_OVERFLOW.labels(name).set(max(overflow, 0))
    in_use = POOL_IN_USE.labels(name)
    event.listen(pool, "checkout", lambda *_: in_use.inc())
    event.listen(pool, "checkin", lambda *_: in_use.dec())


def _live(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _gauge_pids(folder: Path) -> Iterator[int]:
    for file in folder.glob("gauge_live*_*.db"):
        pid = file.stem.rsplit("_", 1)[1]
        if pid.isdigit():
            yield int(pid)


def worker_started() -> None:
    """Drop the live gauges of workers that died without a shutdown (killed, crashed)."""
    if METRICS_FOLDER is None:
        log.warning(
            "no private folder for metrics in %s: /metrics shows this worker process only",
            tempfile.gettempdir(),
        )
        return
    for pid in set(_gauge_pids(METRICS_FOLDER)):
        if pid != os.getpid() and not _live(pid):
            mark_process_dead(pid, str(METRICS_FOLDER))


def worker_stopping() -> None:
    # Counters and histograms stay (they count what this worker served); its live gauges go.
    if METRICS_FOLDER is not None:
        mark_process_dead(os.getpid(), str(METRICS_FOLDER))


def exposition() -> tuple[bytes, str]:
    """The metrics of every worker of this server, in Prometheus text format."""
    if METRICS_FOLDER is None:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    MultiProcessCollector(registry, str(METRICS_FOLDER))
    return generate_latest(registry), CONTENT_TYPE_LATEST


def metrics_router() -> APIRouter:
    router = APIRouter()

    # Not in the OpenAPI document: it is for the operator's Prometheus, not for API clients, and
    # a generated client must not offer a call that needs the service credential to scrape.
    @router.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        settings = get_runtime(request).settings
        if settings.service_token is None:
            # No credential to protect it with: as if there were no such route.
            return problem_response(404, f"No route matches {request.url.path}.")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" else None
        if not is_service_token(bearer, settings.service_token):
            raise Unauthorized("Send the service credential: `Authorization: Bearer <token>`.")
        body, media_type = exposition()
        return Response(body, media_type=media_type, headers={"Cache-Control": "no-store"})

    return router


# ---------------------------------------------------------------------------------------------
# The middleware

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
PREFLIGHT = "preflight"
_PROBLEM = b"application/problem+json"


def _route_of(scope: Scope) -> str:
    # The template of the route that answered (`/v1/contacts/{contact_id}`), never the path: a
    # path holds ids and the calendar feed's secret, and would make one series per record.
    route = scope.get("route")
    # `path_format`: the path without its convertors (`{contact_id}`, as in the OpenAPI paths).
    path = getattr(route, "path_format", None)
    if isinstance(path, str):
        return path
    if scope["method"] == "OPTIONS" and any(
        name == b"access-control-request-method" for name, _ in scope["headers"]
    ):
        return PREFLIGHT  # answered by the CORS layer before routing
    return UNMATCHED


class ObservabilityMiddleware:
    """For every HTTP request: a request id (the client's `X-Request-ID` if sane, else a new
    one) for its log lines, problem bodies and response header; then one access log line and
    the request metrics.

    Pure ASGI (no BaseHTTPMiddleware): it wraps `send` and leaves bodies and streaming alone.
    Placed outside Starlette's error middleware, so it sees the 500s that middleware answers.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Label children by (method, route, status): `.labels()` costs more than the sample.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                given = value
                break
        rid = accept_request_id(given)
        token = request_id.set(rid)
        status = 500  # what the server answers for an app that fails before responding
        problem = False
        echo = (b"x-request-id", rid.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            nonlocal status, problem
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), echo]
                if status >= 400:
                    problem = any(
                        n == b"content-type" and v.startswith(_PROBLEM) for n, v in headers
                    )
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, status, problem, time.perf_counter() - started, rid)
            request_id.reset(token)

    def _record(self, scope: Scope, status: int, problem: bool, seconds: float, rid: str) -> None:
        method = scope["method"] if scope["method"] in _METHODS else "other"
        route = _route_of(scope)
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            labels = (method, route, str(status))
            series = self._series[key] = (REQUESTS.labels(*labels), DURATION.labels(*labels))
        series[0].inc()
        series[1].observe(seconds)
        if problem:
            PROBLEMS.labels(str(status)).inc()
        if access_log.isEnabledFor(logging.INFO):
            client = scope.get("client")
            fields = {
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "request_id": rid,
                "client": client[0] if client else None,
            }
            # makeRecord and handle, not .info(): the caller's file and line (a stack walk per
            # request) would always name this line.
            record = access_log.makeRecord(
                access_log.name,
                logging.INFO,
                __file__,
                0,
                "%s %s %s",
                (method, route, status),
                None,
                extra={"fields": fields},
            )
            access_log.handle(record)
