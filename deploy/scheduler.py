"""A small cron for compose: runs the scheduler for all users every few minutes.

Sends `POST /v1/scheduler/run` with the service credential (`Authorization: Bearer
$RAPPORT_SERVICE_TOKEN`, body `{}`) every RAPPORT_SCHEDULER_INTERVAL_SECONDS (default 300) to
RAPPORT_SCHEDULER_URL, and prints one JSON line per run (never the token). Standard library only,
so it runs on the Rapport image's Python without the app. A failed run is logged and retried at
the next tick: runs that overlap or repeat never create a task twice. SIGTERM stops it between
runs (exit 0). Any cron can do the same (Kubernetes CronJob, Cloud Scheduler, systemd timer).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any

DEFAULT_URL = "http://lb/v1/scheduler/run"


def run_once(url: str, token: str, timeout: float) -> dict[str, Any]:
    """One all-users run: what it answered, as a log record."""
    request = urllib.request.Request(
        url,
        data=b"{}",
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
    )
    started = time.monotonic()
    record: dict[str, Any] = {"event": "scheduler_run", "url": url}
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = json.loads(response.read() or b"{}")
            record.update(
                status=response.status,
                users=body.get("users"),
                tasks_created=body.get("tasks_created"),
            )
    except urllib.error.HTTPError as exc:  # 4xx/5xx: the problem's title says why
        detail = exc.read()[:500].decode(errors="replace")
        record.update(status=exc.code, error=detail)
    except (OSError, ValueError) as exc:  # unreachable, timed out, not JSON
        record.update(status=None, error=f"{type(exc).__name__}: {exc}")
    record["duration_ms"] = round((time.monotonic() - started) * 1000)
    return record


def main() -> int:
    token = os.environ.get("RAPPORT_SERVICE_TOKEN", "")
    if not token:
        print("RAPPORT_SERVICE_TOKEN must be set (the service credential)", file=sys.stderr)
        return 2
    url = os.environ.get("RAPPORT_SCHEDULER_URL", DEFAULT_URL)
    interval = float(os.environ.get("RAPPORT_SCHEDULER_INTERVAL_SECONDS", "300"))
    timeout = float(os.environ.get("RAPPORT_SCHEDULER_TIMEOUT_SECONDS", "600"))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.is_set():
        print(json.dumps(run_once(url, token, timeout)), flush=True)
        stop.wait(interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
