"""A real uvicorn process on the test database: sockets, headers, real concurrency."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, SECRET


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(database_url: str, log_path: Path, *options: str) -> Iterator[str]:
    """A uvicorn on `database_url`, logging to `log_path`, until the block ends; yields its
    base URL. `options` go to uvicorn (e.g. `--workers 2`, `--log-level`).

    Launched as deployed: `--no-proxy-headers`, since Rapport reads forwarded headers itself
    (from RAPPORT_TRUSTED_PROXIES only)."""
    port = _free_port()
    env = {**os.environ, "RAPPORT_DATABASE_URL": database_url, "RAPPORT_SECRET_KEY": SECRET}
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "app.main:app",
        "--host",
        "127.0.0.1",
        "--no-proxy-headers",
    ]
    # A file, not a pipe nobody reads: a chatty server would block once the pipe filled.
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--port", str(port), *options],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            # Generous: on a loaded machine, importing the app in several workers takes a while.
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                raise RuntimeError(f"server did not start: {log_path.read_text()}")
            yield base
        finally:
            process.terminate()
            process.wait(timeout=15)


@pytest.fixture
def live_server(migrated, tmp_path: Path) -> Iterator[str]:
    with serve(migrated.database_url, tmp_path / "server.log", "--log-level", "warning") as base:
        yield base
