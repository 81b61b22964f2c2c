"""JSON log lines on stdout, each with the id of the request it was written in.

One object per line, so that a log shipper needs no parsing rules: `time`, `level`, `logger`,
`message`, `request_id` (inside a request), the fields a record carries (`extra={"fields":
{...}}`), and `exception` for a traceback.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from types import TracebackType

from sqlalchemy.exc import StatementError

# The id of the request being served; set by the observability middleware for the whole request
# (handlers and error handlers run in its context), read by log lines and problem bodies.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# What a client may choose as its own request id: short and safe to print anywhere.
_SANE_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}")


def accept_request_id(given: bytes | None) -> str:
    """The client's `X-Request-ID` if it is sane, otherwise a new one (uuid4 hex)."""
    if given is not None and _SANE_ID.fullmatch(given):
        return given.decode("ascii")
    return uuid.uuid4().hex


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def _hide_sql_parameters(exc: BaseException | None) -> None:
    # SQLAlchemy prints a failed statement's parameters in its message: they are the user's
    # data (names, notes, password hashes). Seen many times when chained, so walk the chain.
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, StatementError):
            exc.hide_parameters = True
        exc = exc.__cause__ or exc.__context__


# One encoder, built once (json.dumps with options builds one per call).
_ENCODE = json.JSONEncoder(ensure_ascii=False, default=str).encode


class JsonFormatter(logging.Formatter):
    def __init__(self, scrub: Callable[[str], str] = lambda line: line) -> None:
        super().__init__()
        # Applied to the finished line: whatever part of it a secret hid in (message, fields,
        # traceback), it is replaced there.
        self.scrub = scrub

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        line: dict[str, object] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        current = request_id.get()
        if current is not None:
            line["request_id"] = current
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info and record.exc_info[1] is not None:
            _hide_sql_parameters(record.exc_info[1])
            line["exception"] = self.formatException(record.exc_info)
        return self.scrub(_ENCODE(line))


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the `sys.stdout` of the moment (a test runner swaps it), one flush a line."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def configure_logging(level: str, scrub: Callable[[str], str]) -> None:
    """JSON lines on stdout for every logger that reaches the root: Rapport's at `level`,
    the libraries' at WARNING. Idempotent: a second app replaces the handler, never adds one.

    uvicorn's loggers keep their own handlers and format (they do not propagate).
    """
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StdoutHandler)]:
        root.removeHandler(handler)
    handler = _StdoutHandler()
    handler.setFormatter(JsonFormatter(scrub))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    logging.getLogger("rapport").setLevel(level)
