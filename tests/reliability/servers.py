"""Real uvicorn processes and PostgreSQL clusters that the reliability tests stop and start."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ROOT, SECRET
from tests.pg import PostgresCluster


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StoppableCluster(PostgresCluster):
    """A cluster of its own that a test can stop and start again on the same data and port.

    Same options as the session cluster (`tests/pg.py`): fsync off loses nothing when processes
    are killed (the operating system still has the pages), only on a power loss, which these
    tests do not simulate.
    """

    def options(self) -> str:
        return (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=300"
        )

    def durable_commits(self) -> None:
        """Commits wait for their WAL to reach the operating system, as in production.

        The session cluster runs with `synchronous_commit=off`, so an immediate stop can lose the
        last commits: right for speed, wrong for a test that stops PostgreSQL and then expects
        what it acknowledged. A database setting beats the command line's.
        """
        self._run(
            str(self.bindir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "rapport",
            "-d",
            "rapport",
            "-c",
            "ALTER DATABASE rapport SET synchronous_commit = on",
        )

    def halt(self, mode: str = "immediate") -> None:
        """`pg_ctl stop`: immediate is a crash (no checkpoint, connections cut)."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def processes(self) -> list[int]:
        """The postmaster and every process it started (backends, checkpointer, …)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
        return [postmaster, *map(int, children)]

    def freeze(self) -> None:
        """SIGSTOP the cluster: it accepts TCP connections and answers nothing, as a host
        behind a network partition or a stalled disk does. Unlike a stop, nothing is refused."""
        self.frozen = self.processes()
        for pid in self.frozen:
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self.frozen:
            os.kill(pid, signal.SIGCONT)

    def resume(self) -> None:
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            self.options(),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )


class Server:
    """One `uvicorn app.main:app` process on a given database, restartable."""

    def __init__(self, database_url: str, log_path: Path, **settings: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {
            **os.environ,
            "RAPPORT_DATABASE_URL": database_url,
            "RAPPORT_SECRET_KEY": SECRET,
            **{f"RAPPORT_{name.upper()}": value for name, value in settings.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "app.main:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                    "--no-proxy-headers",  # as deployed: the app applies trusted proxies
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            log.close()
        deadline = time.monotonic() + 60
        # One client for the polling: `httpx.get` builds a TLS context each call, which costs
        # more than the poll interval on a loaded machine.
        with httpx.Client(timeout=1) as client:
            while time.monotonic() < deadline:
                try:
                    if client.get(f"{self.base}/healthz").status_code == 200:
                        return self.base
                except httpx.TransportError:
                    time.sleep(0.05)
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no lifespan, no rollback: what a crash or the OOM killer does."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=15)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
