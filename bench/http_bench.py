"""`make bench-http`: Rapport over HTTP against a hand-written baseline, written to
docs/benchmarks.md.

    python -m bench.http_bench                 # the full run (about 13 minutes on 2 cores)
    python -m bench.http_bench --short         # a quick one (RAPPORT_BENCH_SHORT=1 in make)
    python -m bench.http_bench --database sqlite --case "contacts list" --seconds 5

What it does, per database (a SQLite file, then a throwaway PostgreSQL cluster tuned as in
bench/run.py):
1. `alembic upgrade head` and a realistic dataset loaded straight into the database
   (bench/generate.py): 10 users × 2,000 contacts × 20 interactions, asks and etiquette tasks;
2. starts Rapport (`uvicorn app.main:app`, as the Dockerfile runs it: 2 workers,
   RAPPORT_SECRET_KEY set; access log off) and the baseline (`uvicorn bench.baseline:app`,
   the same workers), and checks that both answer every benchmarked request alike (status,
   JSON body, ETag);
3. per endpoint, drives each server with wrk on loopback (64 connections, requests spread
   over the users, `--latency`), Rapport and the baseline alternately, for a fixed time;
4. reads the peak RSS (VmHWM) of every worker process before stopping the servers.
It then writes the HTTP section of docs/benchmarks.md (between its markers; bench/run.py
keeps it), carrying over the hand-written notes inside it.

Tokens are minted as the app mints them (app/core/security.py), one per user, with the same
secret the servers are given. wrk comes from the system's packages (the Makefile installs it);
without it a small asyncio load generator stands in (slower: the figures say which ran).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.generate import Dataset, generate

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-http-secret-" + "y" * 40
WORKERS = 2
CONNECTIONS = 64
# The targets: Rapport's throughput against the baseline's, and its own latency spread.
TARGET_RATIO = 0.7
TARGET_P99_OVER_P50 = 3.0

HTTP = Dataset(
    "http",
    users=10,
    contacts_per_user=2_000,
    interactions_per_user=40_000,
    asks_per_contact=1.0,
    tasks_per_user=100,
)
# Enough contacts for a full first sync page (200) per user.
SHORT = replace(HTTP, contacts_per_user=300, interactions_per_user=6_000, tasks_per_user=20)

START, END = "<!-- http-benchmark: start -->", "<!-- http-benchmark: end -->"
NOTES = re.compile(r"<!-- http-notes -->\n(.*?)<!-- /http-notes -->", re.S)
SECTION = re.compile(re.escape(START) + r".*?" + re.escape(END) + r"\n?", re.S)


# ---------------------------------------------------------------------------------------------
# What is requested


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: str | None = None


@dataclass
class Fixtures:
    tokens: dict[uuid.UUID, str]
    # owner → [(contact id, version)]
    contacts: dict[uuid.UUID, list[tuple[uuid.UUID, int]]]


def _auth(fx: Fixtures, owner: uuid.UUID) -> dict[str, str]:
    return {"Authorization": f"Bearer {fx.tokens[owner]}"}


def _get(path: str) -> Any:
    def build(fx: Fixtures) -> list[Request]:
        return [Request("GET", path, _auth(fx, owner)) for owner in fx.tokens]

    return build


def _contact_gets(conditional: bool) -> Any:
    def build(fx: Fixtures) -> list[Request]:
        out = []
        for owner, contacts in fx.contacts.items():
            for contact_id, version in contacts:
                headers = _auth(fx, owner)
                if conditional:
                    headers["If-None-Match"] = f'"{version}"'
                out.append(Request("GET", f"/v1/contacts/{contact_id}", headers))
        # Interleaved over the users rather than one user's contacts after another's.
        return out[0::2] + out[1::2]

    return build


def _creates(fx: Fixtures) -> list[Request]:
    circles = ("coworker", "friend", "alumni", "online", "other")
    out = []
    for n in range(20):
        for i, owner in enumerate(fx.tokens):
            body = {
                "full_name": f"Bench Person {n}-{i}",
                "email": f"person{n}.{i}@example.com",
                "phone": f"+1 202 555 {1000 + n:04d}",
                "organization": "Example Corp",
                "circle": circles[n % len(circles)],
                "tags": ["bench", f"group-{n % 4}"],
                "notes": "Met at the benchmark meetup.",
            }
            headers = {**_auth(fx, owner), "Content-Type": "application/json"}
            out.append(Request("POST", "/v1/contacts", headers, json.dumps(body)))
    return out


CASES: dict[str, Any] = {
    "contacts list": _get("/v1/contacts?limit=50"),
    "contact get": _contact_gets(conditional=False),
    "contact get (304)": _contact_gets(conditional=True),
    "contact create": _creates,
    "follow-ups": _get("/v1/follow-ups?limit=50"),
    "reciprocity": _get("/v1/reciprocity?limit=50"),
    "sync pull": _get("/v1/sync"),
}
EXPECTED_STATUS = {"contact get (304)": 304, "contact create": 201}


def load_fixtures(url: str, owners: list[uuid.UUID], per_user: int = 200) -> Fixtures:
    from app.core.db import utcnow
    from app.core.security import create_access_token

    # Long enough for the whole run (the app's own tokens live 15 minutes).
    tokens = {
        owner: create_access_token(owner, SECRET, utcnow(), timedelta(hours=6)) for owner in owners
    }
    contacts: dict[uuid.UUID, list[tuple[uuid.UUID, int]]] = {}
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("///", 1)[1])
        try:
            for owner in owners:
                rows = conn.execute(
                    "SELECT id, version FROM contacts WHERE owner_id = ? AND deleted_at IS NULL "
                    "ORDER BY id LIMIT ?",
                    (owner.hex, per_user),
                ).fetchall()
                contacts[owner] = [(uuid.UUID(hex=r[0]), r[1]) for r in rows]
        finally:
            conn.close()
    else:

        async def read() -> None:
            import asyncpg

            conn = await asyncpg.connect(url)
            try:
                for owner in owners:
                    rows = await conn.fetch(
                        "SELECT id, version FROM contacts WHERE owner_id = $1 "
                        "AND deleted_at IS NULL ORDER BY id LIMIT $2",
                        owner,
                        per_user,
                    )
                    contacts[owner] = [(uuid.UUID(str(r[0])), r[1]) for r in rows]
            finally:
                await conn.close()

        asyncio.run(read())
    return Fixtures(tokens, contacts)


# ---------------------------------------------------------------------------------------------
# Servers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: the ppid follows its `)`.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry.name))
    return out


def _status_kib(pid: int, field_name: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _proxy_option() -> str:
    """Whether uvicorn reads forwarded headers, as the Dockerfile starts Rapport."""
    dockerfile = ROOT / "Dockerfile"
    text = dockerfile.read_text() if dockerfile.exists() else ""
    return "--no-proxy-headers" if "--no-proxy-headers" in text else "--proxy-headers"


class Server:
    """A uvicorn with WORKERS worker processes, as the Dockerfile starts Rapport."""

    def __init__(self, name: str, target: str, env: dict[str, str], log: Path) -> None:
        self.name, self.target, self.env, self.log_path = name, target, env, log
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            sys.executable, "-m", "uvicorn", self.target, "--host", "127.0.0.1",
            "--port", str(self.port), "--workers", str(WORKERS), "--no-access-log",
            "--log-level", "warning", _proxy_option(), "--timeout-graceful-shutdown", "20",
        ]  # fmt: skip
        # A file, not a pipe nobody reads: a chatty server would block once the pipe filled.
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if len(self.workers()) >= WORKERS:
                try:
                    with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as response:
                        if response.status == 200:
                            return
                except (urllib.error.URLError, OSError):
                    pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start: {self.log_path.read_text()[-3000:]}")

    def workers(self) -> list[int]:
        if self.process is None:
            return []
        found = []
        for pid in _children(self.process.pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline:  # not multiprocessing's resource tracker
                found.append(pid)
        return found

    def peak_rss_mib(self) -> list[float]:
        """VmHWM of each worker: the most memory it held at once since it started."""
        out = []
        for pid in self.workers():
            kib = _status_kib(pid, "VmHWM")
            if kib is not None:
                out.append(kib / 1024)
        return sorted(out)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def call(base: str, request: Request) -> tuple[int, dict[str, str], bytes]:
    data = request.body.encode() if request.body is not None else None
    req = urllib.request.Request(
        base + request.path, data=data, headers=request.headers, method=request.method
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


# Parts of an answer that legitimately differ between two calls (the moment, what it signs,
# what a create makes).
_VOLATILE = {"as_of", "next_cursor", "cursor", "id", "created_at", "updated_at"}


def _normalised(value: Any, case: str) -> Any:
    if isinstance(value, dict):
        volatile = _VOLATILE if case in {"contact create", "follow-ups", "reciprocity"} else set()
        volatile = volatile | ({"cursor", "as_of"} if case == "sync pull" else set())
        return {k: _normalised(v, case) for k, v in value.items() if k not in volatile}
    if isinstance(value, list):
        return [_normalised(v, case) for v in value]
    if isinstance(value, float):
        return round(value, 4)
    return value


def compare(case: str, requests: list[Request], rapport: str, baseline: str) -> list[str]:
    """Differences between the two servers' answers to the case's first requests."""
    problems = []
    for request in requests[:3]:
        a, b = call(rapport, request), call(baseline, request)
        expected = EXPECTED_STATUS.get(case, 200)
        if a[0] != expected or b[0] != expected:
            problems.append(f"{request.path}: status {a[0]} / {b[0]}, expected {expected}")
            continue
        if a[1].get("etag") != b[1].get("etag"):
            problems.append(f"{request.path}: ETag {a[1].get('etag')} / {b[1].get('etag')}")
        if not a[2] and not b[2]:
            continue
        left, right = json.loads(a[2]), json.loads(b[2])
        if list(left) != list(right):
            problems.append(f"{request.path}: fields {list(left)} / {list(right)}")
        elif _normalised(left, case) != _normalised(right, case):
            problems.append(f"{request.path}: bodies differ: {a[2][:300]!r} / {b[2][:300]!r}")
    return problems


# ---------------------------------------------------------------------------------------------
# Load


@dataclass
class Run:
    case: str
    side: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors and timeouts
    bad_status: int  # answers that are neither 2xx nor 3xx
    tool: str


def _lua(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def wrk_script(requests: list[Request], path: Path) -> None:
    entries = []
    for r in requests:
        headers = ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in r.headers.items())
        body = "nil" if r.body is None else _lua(r.body)
        entries.append(f"  {{{_lua(r.method)}, {_lua(r.path)}, {{{headers}}}, {body}}},")
    path.write_text(
        "local data = {\n" + "\n".join(entries) + "\n}\n"
        "local reqs = {}\n"
        "local i = 0\n"
        "function init(args)\n"
        "  for k, r in ipairs(data) do reqs[k] = wrk.format(r[1], r[2], r[3], r[4]) end\n"
        "  i = math.random(#reqs)\n"
        "end\n"
        "function request()\n"
        "  i = i % #reqs + 1\n"
        "  return reqs[i]\n"
        "end\n"
    )


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip()).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(output: str, case: str, side: str, seconds: float) -> Run:
    def find(pattern: str, default: str | None = None) -> str:
        found = re.search(pattern, output, re.M)
        if found is None:
            if default is None:
                raise RuntimeError(f"unexpected wrk output:\n{output}")
            return default
        return found.group(1)

    errors = find(r"Socket errors: (.*)", "")
    return Run(
        case=case,
        side=side,
        requests=int(find(r"(\d+) requests in")),
        seconds=seconds,
        rps=float(find(r"Requests/sec:\s+([\d.]+)")),
        p50_ms=_ms(find(r"^\s+50%\s+(\S+)")),
        p99_ms=_ms(find(r"^\s+99%\s+(\S+)")),
        errors=sum(int(n) for n in re.findall(r"\d+", errors)),
        bad_status=int(find(r"Non-2xx or 3xx responses: (\d+)", "0")),
        tool="wrk",
    )


def run_wrk(base: str, script: Path, seconds: float, connections: int, case: str, side: str) -> Run:
    # One wrk thread: it keeps far ahead of either server and leaves them the other core.
    command = [
        "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "10s",
        "-s", str(script), base,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return parse_wrk(result.stdout, case, side, seconds)


async def _python_load(
    base: str, requests: list[Request], seconds: float, connections: int
) -> tuple[int, list[float], int, int]:
    """The fallback load generator: keep-alive connections each sending one request after
    another, with prebuilt request bytes, for `seconds`."""
    host, port = base.removeprefix("http://").split(":")
    raw = []
    for r in requests:
        body = (r.body or "").encode()
        lines = [f"{r.method} {r.path} HTTP/1.1", f"Host: {host}:{port}"]
        lines += [f"{k}: {v}" for k, v in r.headers.items()]
        if r.body is not None:
            lines.append(f"Content-Length: {len(body)}")
        raw.append(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    latencies: list[float] = []
    errors = bad = 0
    deadline = time.perf_counter() + seconds

    async def connection(n: int) -> None:
        nonlocal errors, bad
        reader, writer = await asyncio.open_connection(host, int(port))
        i = n
        try:
            while time.perf_counter() < deadline:
                i = (i + 1) % len(raw)
                started = time.perf_counter()
                writer.write(raw[i])
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                latencies.append((time.perf_counter() - started) * 1000)
                if not 200 <= status < 400:
                    bad += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection(n) for n in range(connections)))
    return len(latencies), latencies, errors, bad


def run_python(
    base: str, requests: list[Request], seconds: float, connections: int, case: str, side: str
) -> Run:
    count, latencies, errors, bad = asyncio.run(_python_load(base, requests, seconds, connections))
    ordered = sorted(latencies) or [0.0]
    return Run(
        case=case,
        side=side,
        requests=count,
        seconds=seconds,
        rps=count / seconds,
        p50_ms=ordered[len(ordered) // 2],
        p99_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        errors=errors,
        bad_status=bad,
        tool="python",
    )


# ---------------------------------------------------------------------------------------------
# One database


@dataclass
class DatabaseResult:
    database: str
    seeded: dict[str, int]
    seed_seconds: float
    runs: list[dict[str, Any]] = field(default_factory=list)
    mismatches: dict[str, list[str]] = field(default_factory=dict)
    peak_rss_mib: dict[str, list[float]] = field(default_factory=dict)


def measure_database(
    database: str,
    url: str,
    dataset: Dataset,
    args: argparse.Namespace,
    workdir: Path,
    step: Any,
) -> DatabaseResult:
    step(f"{database}: loading {dataset.users} users × {dataset.contacts_per_user:,} contacts")
    generated = generate(url, dataset, progress=False)
    result = DatabaseResult(database, generated.rows, round(generated.seconds, 1))
    fixtures = load_fixtures(url, generated.user_ids)
    requests = {case: CASES[case](fixtures) for case in args.cases}
    scripts = {}
    for n, (case, reqs) in enumerate(requests.items()):
        scripts[case] = workdir / f"case{n}.lua"
        wrk_script(reqs, scripts[case])

    common = {"RAPPORT_SECRET_KEY": SECRET, "RAPPORT_LOG_LEVEL": "WARNING"}
    servers = {
        "rapport": Server(
            "Rapport",
            "app.main:app",
            {**common, "RAPPORT_DATABASE_URL": url},
            workdir / f"rapport-{database}.log",
        ),
        "baseline": Server(
            "baseline",
            "bench.baseline:app",
            {**common, "BENCH_DATABASE_URL": url},
            workdir / f"baseline-{database}.log",
        ),
    }
    use_wrk = shutil.which("wrk") is not None and not args.python_load

    def load(case: str, side: str, seconds: float) -> Run:
        base = servers[side].base
        if use_wrk:
            return run_wrk(base, scripts[case], seconds, args.connections, case, side)
        return run_python(base, requests[case], seconds, args.connections, case, side)

    try:
        for server in servers.values():
            server.start()
        for case, reqs in requests.items():
            found = compare(case, reqs, servers["rapport"].base, servers["baseline"].base)
            if found:
                result.mismatches[case] = found
                for line in found:
                    print(f"    MISMATCH {case}: {line}", flush=True)
        step(f"{database}: warming up ({args.warmup:g} s per endpoint and server)")
        for case in requests:
            for side in servers:
                load(case, side, args.warmup)
        for round_ in range(args.rounds):
            step(f"{database}: round {round_ + 1} of {args.rounds}")
            for case in requests:
                # Who goes first alternates, so neither side always follows the other's writes.
                sides = ["rapport", "baseline"] if round_ % 2 == 0 else ["baseline", "rapport"]
                for side in sides:
                    run = load(case, side, args.seconds)
                    result.runs.append(asdict(run))
                    print(
                        f"    {case:18} {side:8} {run.rps:8.0f} req/s  p50 {run.p50_ms:6.1f} ms"
                        f"  p99 {run.p99_ms:6.1f} ms  errors {run.errors}  "
                        f"non-2xx/3xx {run.bad_status}",
                        flush=True,
                    )
        for side, server in servers.items():
            result.peak_rss_mib[side] = server.peak_rss_mib()
    finally:
        for server in servers.values():
            server.stop()
    return result


# ---------------------------------------------------------------------------------------------
# The report


def summary(result: dict[str, Any], case: str, side: str) -> dict[str, float] | None:
    runs = [r for r in result["runs"] if r["case"] == case and r["side"] == side]
    if not runs:
        return None
    return {
        "rps": statistics.median(r["rps"] for r in runs),
        "each_rps": [r["rps"] for r in runs],  # in round order
        "p50": statistics.median(r["p50_ms"] for r in runs),
        "p99": statistics.median(r["p99_ms"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        "bad": sum(r["bad_status"] for r in runs),
        "rounds": len(runs),
    }


def render(report: dict[str, Any], notes: str | None) -> str:
    info = report["machine"]
    short = " **(short run: not the recorded figures)**" if report["short"] else ""
    tool = "wrk" if report["wrk"] else "the Python load generator (wrk was missing)"
    lines = [
        START,
        "## HTTP: Rapport against a hand-written baseline",
        "",
        f"Written by `make bench-http` (`python -m bench.http_bench`, see bench/http_bench.py); "
        f"run of {report['started']} (UTC), took {report['minutes']:.1f} minutes{short}.",
        "",
        f"Each server is uvicorn with {WORKERS} workers (uvloop, httptools; access log off) on "
        f"loopback. Rapport is `app.main:app` as the Dockerfile runs it; the baseline is "
        "bench/baseline.py, a bare Starlette app doing the same queries in hand-written SQL "
        "(asyncpg; sqlite3 in a thread), the same JWT check and the same JSON bytes, its "
        "answers checked against Rapport's before measuring. Load: "
        f"{tool}, {report['connections']} connections, one thread, requests spread over the "
        f"{report['dataset']['users']} users; {report['seconds']:g} s per endpoint and server, "
        f"{report['rounds']} rounds alternating which server goes first, after a "
        f"{report['warmup']:g} s warm-up; figures are medians over the rounds, and the ratio "
        "is the median of the rounds' ratios (their range in brackets). Data: "
        f"{report['dataset']['users']} users × {report['dataset']['contacts_per_user']:,} "
        f"contacts × {report['dataset']['interactions_per_user'] // report['dataset']['contacts_per_user']} "  # noqa: E501
        "interactions, with asks and etiquette tasks (bench/generate.py).",
        "",
        f"Machine: {info['nproc']} cores ({info['cpu']}), {info['memory']}, {info['os']}; "
        f"Python {info['python']}, SQLite {info['sqlite']}, PostgreSQL "
        f"{info.get('postgresql', '-')} (a throwaway cluster, tuned as in bench/run.py); "
        f"{info['code']}; load average {info['load_average']} at the end.",
        "",
        f"Targets: Rapport's req/s ≥ {TARGET_RATIO}× the baseline's on every endpoint, and "
        f"its p99 ≤ {TARGET_P99_OVER_P50:g}× its p50, at {report['connections']} connections, "
        "on both databases. Latency ratios are Rapport's over the baseline's (lower is better "
        "for Rapport).",
        "",
        "| database | endpoint | Rapport req/s | baseline req/s | ratio | Rapport p50 / p99 ms "
        "| baseline p50 / p99 ms | p50 ratio | p99 ratio | Rapport p99/p50 | errors, non-2xx "
        "(R / B) | verdict |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    met = total = 0
    misses = []
    for result in report["databases"]:
        for case in report["cases"]:
            r, b = summary(result, case, "rapport"), summary(result, case, "baseline")
            if r is None or b is None:
                continue
            # Each round's ratio (the two sides measured back to back), then their median: the
            # shared machine's load moves both sides within a round, and one round's outlier
            # (a side's figure off by 2× in a run of this harness) does not decide the verdict.
            pairs = zip(r["each_rps"], b["each_rps"], strict=True)
            ratios = [x / y if y else 0.0 for x, y in pairs]
            ratio = statistics.median(ratios)
            spread_of_ratios = f" ({min(ratios):.2f}–{max(ratios):.2f})" if len(ratios) > 1 else ""
            spread = r["p99"] / r["p50"] if r["p50"] else 0.0
            ok = ratio >= TARGET_RATIO and spread <= TARGET_P99_OVER_P50
            clean = r["errors"] + r["bad"] + b["errors"] + b["bad"] == 0
            total += 1
            met += ok
            if not ok:
                misses.append(f"{result['database']} {case}: ×{ratio:.2f}, p99/p50 {spread:.1f}")
            lines.append(
                f"| {result['database']} | {case} | {r['rps']:,.0f} | {b['rps']:,.0f} | "
                f"**×{ratio:.2f}**{spread_of_ratios} | {r['p50']:.1f} / {r['p99']:.1f} | "
                f"{b['p50']:.1f} / {b['p99']:.1f} | ×{r['p50'] / b['p50']:.2f} | "
                f"×{r['p99'] / b['p99']:.2f} | {spread:.1f} | "
                f"{r['errors']}, {r['bad']} / {b['errors']}, {b['bad']}"
                f"{'' if clean else ' ⚠'} | {'met' if ok else '**not met**'} |"
            )
    lines += [
        "",
        f"{met} of {total} met" + (": not met — " + "; ".join(misses) if misses else "") + ".",
        "",
        "Peak memory (VmHWM) of each worker process, after its database's whole run "
        "(warm-up and every round):",
        "",
        "| database | Rapport workers MiB | baseline workers MiB |",
        "|---|---|---|",
    ]
    for result in report["databases"]:
        rss = result["peak_rss_mib"]
        lines.append(
            f"| {result['database']} | "
            + " | ".join(
                ", ".join(f"{v:.0f}" for v in rss.get(side, [])) or "-"
                for side in ("rapport", "baseline")
            )
            + " |"
        )
    mismatched = [
        f"- {result['database']}, {case}: {'; '.join(found)}"
        for result in report["databases"]
        for case, found in result["mismatches"].items()
    ]
    if mismatched:
        lines += ["", "**Answers that differed between Rapport and the baseline:**", ""]
        lines += mismatched
    seeded = ", ".join(
        f"{result['database']} {sum(result['seeded'].values()):,} rows in "
        f"{result['seed_seconds']:.0f} s"
        for result in report["databases"]
    )
    lines += ["", f"Loaded: {seeded}.", ""]
    lines += [
        "### HTTP: what was measured and changed",
        "",
        "<!-- http-notes -->",
        (notes or "Not written yet: read the figures above, then write here.\n").rstrip("\n"),
        "<!-- /http-notes -->",
        END,
        "",
    ]
    return "\n".join(lines)


def previous_notes(document: str | None) -> str | None:
    found = NOTES.search(document or "")
    return found.group(1) if found else None


def with_section(document: str, section: str) -> str:
    """`document` with its HTTP section replaced by `section`, or `section` put before its
    first `## ` heading."""
    if SECTION.search(document):
        return SECTION.sub(lambda _: section, document, count=1)
    at = document.find("\n## ")
    if at < 0:
        return document.rstrip("\n") + "\n\n" + section
    return document[: at + 1] + section + "\n" + document[at + 1 :]


def keep_section(rendered: str, previous: str | None) -> str:
    """For bench/run.py: the HTTP section of the previous document, kept in the new one."""
    found = SECTION.search(previous or "")
    return with_section(rendered, found.group(0)) if found else rendered


# ---------------------------------------------------------------------------------------------
# Main


def main() -> None:
    short_default = os.environ.get("RAPPORT_BENCH_SHORT", "") not in {"", "0"}
    parser = argparse.ArgumentParser(description="Rapport over HTTP against a baseline")
    parser.add_argument("--short", action="store_true", default=short_default,
                        help="a quick run: less data, 2 s per endpoint, one round "
                        "(or RAPPORT_BENCH_SHORT=1)")  # fmt: skip
    parser.add_argument("--seconds", type=float, help="per endpoint and server (default 8)")
    parser.add_argument("--rounds", type=int, help="default 3")
    parser.add_argument("--warmup", type=float, help="seconds (default 2)")
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument(
        "--database", action="append", choices=["sqlite", "postgresql"], dest="databases"
    )
    parser.add_argument("--case", action="append", choices=list(CASES), dest="cases")
    parser.add_argument("--python-load", action="store_true", help="not wrk, even if present")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()
    # Three rounds, so that the median of the rounds' ratios sets aside one round's outlier.
    args.seconds = args.seconds or (2.0 if args.short else 8.0)
    args.rounds = args.rounds or (1 if args.short else 3)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.short else 2.0)
    args.databases = args.databases or ["sqlite", "postgresql"]
    args.cases = args.cases or list(CASES)
    dataset = SHORT if args.short else HTTP

    from bench.run import BenchCluster, code_revision, machine_info

    started = time.perf_counter()

    def step(text: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {text}", flush=True)

    if shutil.which("wrk") is None:
        print("wrk not found: using the Python load generator (install wrk for real figures)")
    report: dict[str, Any] = {
        "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "short": args.short,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "warmup": args.warmup,
        "connections": args.connections,
        "cases": args.cases,
        "wrk": shutil.which("wrk") is not None and not args.python_load,
        "dataset": asdict(dataset),
        "databases": [],
    }
    workdir = Path(tempfile.mkdtemp(prefix="rapport-http-bench-"))
    cluster = None
    try:
        pg_url = None
        if "postgresql" in args.databases:
            step("starting a throwaway PostgreSQL cluster")
            cluster = BenchCluster()
            pg_url = cluster.start()
        report["machine"] = machine_info(pg_url, cluster)
        for database in args.databases:
            if database == "sqlite":
                url, name = f"sqlite:///{workdir / 'http.db'}", "SQLite"
            else:
                assert cluster is not None and pg_url is not None
                url, name = cluster.create_database(pg_url, "rapport_http"), "PostgreSQL"
            result = measure_database(name, url, dataset, args, workdir, step)
            report["databases"].append(asdict(result))
        report["machine"]["load_average"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        report["machine"]["code"] = code_revision()
    finally:
        if cluster is not None:
            step("stopping PostgreSQL")
            cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    report["minutes"] = (time.perf_counter() - started) / 60
    report["machine"]["os"] = platform.platform()
    previous = args.output.read_text() if args.output.exists() else None
    section = render(report, previous_notes(previous))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    if args.no_write:
        print(section)
        return
    args.output.write_text(with_section(previous or "# Benchmarks\n", section))
    step(f"wrote the HTTP section of {args.output}")


if __name__ == "__main__":
    main()
