"""The feed's secret is in its URL: it must not reach the logs (Rapport's, or uvicorn's access log
when an operator turns it on)."""

from __future__ import annotations

import json
import logging
import os
import uuid
from unittest.mock import patch

import httpx
import pytest

from app.calendar.redact import RedactFeedTokens, redact, redact_feed_tokens
from tests.live import serve

SECRET_TOKEN = "m3Hq0yJ3bV6kS1rW9tX2uZ5aC8dF4gH7jK0lN3pQ6sT"


def test_redact_replaces_the_secret_in_any_calendar_path():
    assert redact(f"/v1/calendar/{SECRET_TOKEN}.ics") == "/v1/calendar/[redacted]"
    assert (
        redact(f'1.2.3.4:5 - "GET /api/v1/calendar/{SECRET_TOKEN}.ics?x=1 HTTP/1.1" 200')
        == '1.2.3.4:5 - "GET /api/v1/calendar/[redacted]?x=1 HTTP/1.1" 200'
    )
    assert redact("/v1/contacts/42") == "/v1/contacts/42"
    # The route template Rapport's access line names is no secret, and stays readable.
    assert redact("/v1/calendar/{feed_token}.ics") == "/v1/calendar/{feed_token}.ics"


@pytest.mark.parametrize(
    "args",
    [
        ("1.2.3.4:5", "GET", f"/v1/calendar/{SECRET_TOKEN}.ics", "1.1", 200),
        {"path": f"/v1/calendar/{SECRET_TOKEN}.ics"},
    ],
)
def test_the_filter_rewrites_the_arguments_of_a_record(args):
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, "%s", None, None)
    record.args = args
    assert RedactFeedTokens().filter(record)
    assert SECRET_TOKEN not in str(record.args)


def test_the_filter_is_on_uvicorns_loggers_and_ours_once(app, caplog):
    redact_feed_tokens()  # a second app, a second call: still one filter
    for name in ("uvicorn.access", "uvicorn.error", "rapport"):
        filters = logging.getLogger(name).filters
        assert sum(isinstance(f, RedactFeedTokens) for f in filters) == 1
    with caplog.at_level(logging.WARNING, logger="rapport"):
        logging.getLogger("rapport").warning("failed on %s", f"/v1/calendar/{SECRET_TOKEN}.ics")
    assert SECRET_TOKEN not in caplog.text
    assert "/v1/calendar/[redacted]" in caplog.text


def _fetch_feeds(base: str) -> str:
    """Makes a feed secret, reads the feed with it and with an unknown one; returns the secret."""
    with httpx.Client(base_url=base, timeout=10) as http:
        email = f"logs-{uuid.uuid4().hex[:8]}@example.com"
        credentials = {"email": email, "password": "correct horse battery"}
        assert http.post("/v1/auth/register", json=credentials).status_code == 201
        form = {"username": email, "password": credentials["password"]}
        access = http.post("/v1/auth/token", data=form).json()["access_token"]
        auth = {"Authorization": f"Bearer {access}"}
        made = http.post("/v1/me/calendar-token", headers=auth).json()
        assert http.get(made["url"]).status_code == 200
        assert http.get(f"/v1/calendar/{SECRET_TOKEN}.ics").status_code == 404
    token: str = made["token"]
    return token


def test_a_real_uvicorns_log_never_shows_the_secret(migrated, app, tmp_path):
    """As deployed (default log level): Rapport's JSON line per request names the route
    template, and uvicorn's own access log is off."""
    log_path = tmp_path / "server.log"
    with serve(migrated.database_url, log_path) as base:
        token = _fetch_feeds(base)
    log = log_path.read_text()
    feeds = [
        json.loads(line)
        for line in log.splitlines()
        if line.startswith("{") and '"rapport.access"' in line and "calendar/{" in line
    ]
    assert [(f["route"], f["status"]) for f in feeds] == [
        ("/v1/calendar/{feed_token}.ics", 200),
        ("/v1/calendar/{feed_token}.ics", 404),
    ], log
    assert ' HTTP/1.1" ' not in log, "uvicorn's access log is off by default"
    assert token not in log
    assert SECRET_TOKEN not in log


def test_uvicorns_access_log_when_turned_on_never_shows_the_secret(migrated, app, tmp_path):
    log_path = tmp_path / "server.log"
    with (
        patch.dict(os.environ, {"RAPPORT_UVICORN_ACCESS_LOG": "true"}),
        serve(migrated.database_url, log_path) as base,
    ):
        token = _fetch_feeds(base)
    log = log_path.read_text()
    assert '"GET /v1/calendar/[redacted] HTTP/1.1" 200' in log, log
    assert token not in log
    assert SECRET_TOKEN not in log
