"""Keep calendar feed secrets out of the logs.

The feed's secret is in its URL (calendar apps cannot send a header), and uvicorn's access log
(when an operator turns it on) writes every request line, path included; so may our own warnings
about failed requests. A filter on those loggers replaces the secret before any handler formats
the record, and Rapport's JSON log lines pass through `redact` once more when formatted (a
traceback or a field can hold a path too). Rapport's own access line names the route template
(`/v1/calendar/{feed_token}.ics`), never the path, and the template is left as it is.
"""

from __future__ import annotations

import logging
import re

_FEED_PATH = re.compile(r"(/v1/calendar/)(?!\{feed_token\})[^/?#\s\"']+")
REDACTED = r"\1[redacted]"
# uvicorn's request lines; its error log (which names the path of a failed ASGI call); ours.
LOGGERS = ("uvicorn.access", "uvicorn.error", "rapport")


def redact(text: str) -> str:
    return _FEED_PATH.sub(REDACTED, text) if "/v1/calendar/" in text else text


class RedactFeedTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True


def redact_feed_tokens() -> None:
    """Install the filter (once per logger, however many apps are created)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactFeedTokens) for f in logger.filters):
            logger.addFilter(RedactFeedTokens())
