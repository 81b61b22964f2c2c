"""`make bench`: follow-ups, reciprocity and the scheduler at scale, written to docs/benchmarks.md.

    python -m bench.run                  # the full run (about 8 minutes on 2 cores)
    python -m bench.run --scale 0.1      # a quick one; its figures are not the recorded ones
    RAPPORT_BENCH_SCALE=0.1 make bench   # the same through make

What it does:
1. starts a throwaway PostgreSQL cluster (tests/pg.py), tuned as a small production server;
2. power user (10,000 contacts, 1,000,000 interactions, ~30,000 asks), on PostgreSQL and on a
   SQLite file: times `follow_ups_page` and `reciprocity_page` (app/scheduler/service.py)
   called directly with a session, and the same through the whole ASGI app with httpx, for
   as_of = now, 30 days ago, 1 year ago and 30 days ahead: median and p95 over `--runs`
   runs after `--warmup` ones, through the app's own engine and sessions (app/core/db.py:
   pooling, and on PostgreSQL `jit = off` and the other server_settings); catches the
   statements a call sends (SQL and parameters as the driver receives them), times each
   alone and captures its plan (auto_explain's EXPLAIN ANALYZE of the prepared statement on
   PostgreSQL, EXPLAIN QUERY PLAN on SQLite);
3. all users (1,000 users × 1,000 contacts × 10 interactions) on PostgreSQL: `run_for_all`
   with the default policy (batches of 100 users), in a fresh process: the first run (it
   creates the reconnect and offer-help tasks) and a second one right after, wall time and
   peak memory growth of the process;
4. writes docs/benchmarks.md (figures against the targets, and the plans), carrying over
   its hand-written Diagnosis section (flagged as written for an earlier run).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import math
import os
import platform
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select, text

from bench.generate import ALL_USERS, POWER_USER, Generated, generate
from tests.pg import PostgresCluster

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-" + "x" * 40
PAGE = 50

# The targets.
TARGET_NOW_MS = 20.0
TARGET_OTHER_MS = 100.0
TARGET_ALL_USERS_S = 15.0
TARGET_MEMORY_MB = 200.0

# The throwaway server, tuned as a small production server on this machine would be (the
# test cluster's fsync=off and friends stay: they change write durability, not query plans).
PG_SETTINGS = {
    "shared_buffers": "1GB",
    "effective_cache_size": "4GB",
    "work_mem": "16MB",
    "maintenance_work_mem": "1GB",
    "random_page_cost": "1.1",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
}


# ---------------------------------------------------------------------------------------------
# The PostgreSQL cluster


class BenchCluster(PostgresCluster):
    """tests/pg.py's throwaway cluster, with PG_SETTINGS applied (ALTER SYSTEM + restart)."""

    def start(self) -> str:
        url = super().start()
        for name, value in PG_SETTINGS.items():
            self.psql(url, f"ALTER SYSTEM SET {name} = '{value}'")
        log = str(self.root / "server.log")
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            log,
            "-m",
            "fast",
            "-w",
            "restart",
        )
        return url

    def psql(self, url: str, sql: str) -> str:
        result = subprocess.run(
            ["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout.strip()

    def create_database(self, url: str, name: str) -> str:
        self.psql(url, f"CREATE DATABASE {name}")
        return url.rsplit("/", 1)[0] + "/" + name


# ---------------------------------------------------------------------------------------------
# Timing


@dataclass
class Timing:
    label: str
    runs: list[float]  # milliseconds

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def p95(self) -> float:
        ordered = sorted(self.runs)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]  # nearest rank


async def timed(call: Callable[[], Awaitable[Any]], runs: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        await call()
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        out.append((time.perf_counter() - started) * 1000)
    return out


# ---------------------------------------------------------------------------------------------
# Query plans: the statements the service runs, caught as the driver receives them

# PostgreSQL plans a prepared statement for its parameters on its first five executions, then
# may keep a generic plan (its conditions then show $1, $2 …): the plans shown are those of the
# last of PLAN_CALLS calls in one session, as the timed runs (warmed up, on a pooled
# connection whose prepared statements persist) execute them.
PLAN_CALLS = 7

AUTO_EXPLAIN = (
    "LOAD 'auto_explain'",
    "SET auto_explain.log_min_duration = 0",
    "SET auto_explain.log_analyze = on",
    "SET auto_explain.log_buffers = on",
    "SET auto_explain.log_triggers = on",
)
MARKER = "bench_marker"


class StatementLog:
    """The statements an engine runs while recording: SQL and parameters as the driver gets
    them, so that what is explained and timed is what the app sends, not a copy of it."""

    def __init__(self, engine: Any) -> None:
        self.recording = False
        self.statements: list[tuple[str, Any]] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._record)

    def _record(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        words = statement.lstrip().split(None, 1)
        if self.recording and words and words[0].upper() in {"SELECT", "WITH"}:
            self.statements.append((statement, parameters))

    async def catch(self, call: Callable[[], Awaitable[Any]]) -> list[tuple[str, Any]]:
        self.statements, self.recording = [], True
        try:
            await call()
        finally:
            self.recording = False
        return list(self.statements)


def page_statement_label(sql: str) -> str:
    q = " ".join(sql.split())
    if "rule_key IN" in q:
        return "the page's reconnect tasks (by rule_key)"
    if "UNION ALL" in q:
        return "the page: five branches, each ORDER BY … LIMIT, names joined after"
    if q.startswith("SELECT max(contacts.last_resolved_at)"):
        return "latest resolution (max last_resolved_at)"
    if "ORDER BY contacts.reciprocity_score" in q:
        return "the page from the stored scores"
    if q.startswith("SELECT sum(contacts.reciprocity_given)"):
        return "network totals from the stored sums"
    if "sum(" in q and "OVER ()" in q:
        return "the page summed from the asks (window sums, ORDER BY score LIMIT)"
    if q.startswith("SELECT sum("):
        return "network totals summed from the asks (past the last page)"
    return _short_sql(q)[:100]


async def sqlite_plan(conn: Any, sql: str, parameters: Any) -> str:
    rows = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, parameters)).all()
    depth: dict[int, int] = {0: -1}
    lines = []
    for node, parent, _, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
    return "\n".join(lines)


def _log_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _read_log(path: Path, offset: int) -> str:
    with path.open(errors="replace") as log:
        log.seek(offset)
        return log.read()


async def postgres_plans(
    db: Any, call: Callable[[Any], Awaitable[Any]], server_log: Path
) -> list[dict[str, Any]]:
    """auto_explain's EXPLAIN ANALYZE of each statement of the last of PLAN_CALLS calls."""
    offset = _log_size(server_log)
    async with db.read_sessions() as session:
        conn = await session.connection()
        for setting in AUTO_EXPLAIN:
            await conn.execute(text(setting))
        for n in range(PLAN_CALLS):
            await conn.execute(text(f"SELECT 'call {n}' AS {MARKER}"))
            await call(session)
        await session.rollback()  # the SETs go with the transaction
    plans = auto_explain_plans(_read_log(server_log, offset))
    marks = [n for n, plan in enumerate(plans) if MARKER in plan["query"]]
    return plans[marks[-1] + 1 :] if marks else []


# ---------------------------------------------------------------------------------------------
# Power user


@dataclass
class PowerUserResult:
    database: str
    generated: dict[str, Any]
    timings: dict[str, dict[str, dict[str, list[float]]]] = field(default_factory=dict)
    # as_of label → {"follow_ups": total items, "first_page": n, "reciprocity": contacts}
    sizes: dict[str, dict[str, int]] = field(default_factory=dict)
    # as_of label → query → the statements of one call: label, sql, runs (ms), plan
    statements: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    # Opening a read session and running SELECT 1: the floor under every service figure.
    baseline: list[float] = field(default_factory=list)
    # How the app's engine and sessions are set up (what the figures were measured with).
    setup: dict[str, str] = field(default_factory=dict)
    # GET /v1/sync through the app: case → request times (ms), and the records each page held
    sync: dict[str, list[float]] = field(default_factory=dict)
    sync_records: dict[str, int] = field(default_factory=dict)


def as_of_cases(now: datetime) -> list[tuple[str, datetime | None]]:
    return [
        ("now", None),
        ("30 days ago", now - timedelta(days=30)),
        ("1 year ago", now - timedelta(days=365)),
        ("30 days ahead", now + timedelta(days=30)),
    ]


async def app_setup(db: Any) -> dict[str, str]:
    """The settings the app's own sessions run with (app/core/db.py), read through them."""
    pool = db.reader.sync_engine.pool
    size = pool.size() if hasattr(pool, "size") else None
    out = {"pool": type(pool).__name__ + (f" (size {size})" if size is not None else "")}
    async with db.read_sessions() as session:
        conn = await session.connection()
        if db.dialect == "postgresql":
            for name in ("jit", "plan_cache_mode", "work_mem", "statement_timeout"):
                out[name] = (await conn.exec_driver_sql(f"SHOW {name}")).scalar_one()
        else:
            for name in ("journal_mode", "synchronous", "cache_size", "mmap_size"):
                out[name] = str((await conn.exec_driver_sql(f"PRAGMA {name}")).scalar_one())
    return out


async def measure_power_user(
    url: str,
    owner_id: uuid.UUID,
    runs: int,
    warmup: int,
    database: str,
    generated: Generated,
    server_log: Path | None = None,
) -> PowerUserResult:
    import httpx

    from app.asks.repository import balances
    from app.core.config import Settings
    from app.core.db import utcnow
    from app.core.security import create_access_token
    from app.main import create_app
    from app.scheduler import service
    from app.scheduler.queries import follow_up_items

    settings = Settings(database_url=url, secret_key=SECRET, log_level="WARNING")
    app = create_app(settings)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    runtime = app.state.runtime
    db, codec = runtime.db, runtime.list_cursors
    dialect = db.dialect
    caught = StatementLog(db.reader)
    token = create_access_token(owner_id, settings.signing_key, utcnow(), timedelta(hours=2))
    headers = {"Authorization": f"Bearer {token}"}
    result = PowerUserResult(database=database, generated=_generated_summary(generated))
    result.setup = await app_setup(db)
    owners = lambda column: column == owner_id  # noqa: E731

    async def empty() -> None:
        async with db.read_sessions() as session:
            await (await session.connection()).execute(text("SELECT 1"))

    result.baseline = await timed(empty, runs, warmup)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench.test") as client:
        now = utcnow()
        for label, as_of in as_of_cases(now):
            params = {} if as_of is None else {"as_of": as_of.isoformat()}
            result.timings[label] = {}
            result.statements[label] = {}
            for name, page, path in (
                ("follow-ups", service.follow_ups_page, "/v1/follow-ups"),
                ("reciprocity", service.reciprocity_page, "/v1/reciprocity"),
            ):

                async def in_session(
                    session: Any, page: Any = page, as_of: datetime | None = as_of
                ) -> Any:
                    return await page(
                        session, owner_id, codec, as_of=as_of, limit=PAGE, cursor=None
                    )

                async def direct(in_session: Any = in_session) -> Any:
                    async with db.read_sessions() as session:
                        return await in_session(session)

                async def http(path: str = path, params: dict[str, str] = params) -> None:
                    response = await client.get(path, params=params, headers=headers)
                    response.raise_for_status()

                result.timings[label][name] = {
                    "service": await timed(direct, runs, warmup),
                    "http": await timed(http, runs, warmup),
                }
                # The same call's statements, each timed alone (parameters as sent), then
                # explained: the split between the database and the rest of the service.
                statements = []
                async with db.read_sessions() as session:
                    conn = await session.connection()
                    for sql, parameters in await caught.catch(direct):

                        async def run(
                            sql: str = sql, parameters: Any = parameters, conn: Any = conn
                        ) -> None:
                            (await conn.exec_driver_sql(sql, parameters)).all()

                        statements.append(
                            {
                                "label": page_statement_label(sql),
                                "sql": sql,
                                "runs": await timed(run, runs, warmup),
                                "plan": (
                                    await sqlite_plan(conn, sql, parameters)
                                    if dialect == "sqlite"
                                    else ""
                                ),
                            }
                        )
                if dialect == "postgresql" and server_log is not None:
                    plans = await postgres_plans(db, in_session, server_log)
                    for statement, plan in zip(statements, plans, strict=False):
                        statement["plan"] = plan["plan"]
                        statement["plan_ms"] = plan["ms"]
                result.statements[label][name] = statements
            moment = as_of or utcnow()
            async with db.read_sessions() as session:
                conn = await session.connection()
                items = follow_up_items(dialect, owners, moment)
                total = (await conn.execute(select(func.count()).select_from(items))).scalar()
                contacts = len((await conn.execute(balances(dialect, owners, moment))).all())
                first = await service.follow_ups_page(
                    session, owner_id, codec, as_of=moment, limit=PAGE, cursor=None
                )
            result.sizes[label] = {
                "follow_ups": int(total or 0),
                "first_page": len(first.items),
                "reciprocity": contacts,
            }
        await measure_sync(client, headers, result, runs, warmup)
    await db.dispose()
    return result


SYNC_PAGE = 1000


async def measure_sync(
    client: Any, headers: dict[str, str], result: PowerUserResult, runs: int, warmup: int
) -> None:
    """GET /v1/sync for the power user: a first page, a page deep in the interactions, and a
    sync that finds nothing new; whole requests, serialisation of 1,000 records included."""

    async def get(cursor: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": SYNC_PAGE}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get("/v1/sync", params=params, headers=headers)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def size(body: dict[str, Any]) -> int:
        return sum(
            len(part["upserted"]) + len(part["deleted"]) for part in body["changes"].values()
        )

    cursors: dict[str, str | None] = {"first page": None}
    cursor: str | None = None
    pages = 0
    started = time.perf_counter()
    while True:  # walk the whole feed once: where the interactions are, and the final cursor
        body = await get(cursor)
        pages += 1
        if pages == 15:  # past the 10k contacts, deep in the interactions
            cursors["a page deep in interactions"] = cursor
        cursor = body["cursor"]
        if not body["has_more"]:
            break
    cursors["nothing new"] = cursor
    result.sync_records["pages for the whole feed"] = pages
    result.sync_records["seconds for the whole feed"] = round(time.perf_counter() - started)
    for case, at in cursors.items():
        result.sync[case] = await timed(lambda at=at: get(at), runs, warmup)
        result.sync_records[case] = size(await get(at))


def _generated_summary(generated: Generated) -> dict[str, Any]:
    return {
        "dataset": generated.dataset.key,
        "rows": generated.rows,
        "seconds": round(generated.seconds, 1),
        "load_seconds": round(generated.load_seconds, 1),
        "index_seconds": round(generated.index_seconds, 1),
        "workers": generated.workers,
        "anchor": generated.anchor.isoformat(),
        "seed": generated.seed,
    }


# ---------------------------------------------------------------------------------------------
# All users (in a fresh process, so that its memory is the run's alone)


def _rss_kib() -> tuple[int, int]:
    """(current RSS, peak RSS since the last reset) of this process, in KiB."""
    fields: dict[str, int] = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in {"VmRSS", "VmHWM"}:
                fields[name] = int(value.split()[0])
    return fields["VmRSS"], fields["VmHWM"]


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux ≥ 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


async def all_users_worker(url: str) -> dict[str, Any]:
    from app.core.config import Settings
    from app.core.db import Database, utcnow
    from app.scheduler.service import AllUsersPolicy, run_for_all

    settings = Settings(database_url=url, secret_key=SECRET, log_level="WARNING")
    db = Database(settings)
    await db.ping()
    retention = timedelta(days=settings.sync_retention_days)
    default = AllUsersPolicy(
        batch_size=settings.scheduler_batch_size,
        min_interval=timedelta(seconds=settings.scheduler_min_interval_seconds),
        tombstone_retention=retention,
    )
    again = AllUsersPolicy(
        batch_size=settings.scheduler_batch_size,
        min_interval=timedelta(0),
        tombstone_retention=retention,
    )
    out: dict[str, Any] = {
        "policy": {
            "batch_size": default.batch_size,
            "min_interval_s": default.min_interval.total_seconds(),
        },
        "runs": [],
    }

    async def one(name: str, as_of: datetime | None, policy: AllUsersPolicy) -> None:
        reset = _reset_peak()
        rss_before, _ = _rss_kib()
        maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        run = await run_for_all(db, as_of, policy)
        seconds = time.perf_counter() - started
        _, peak = _rss_kib()
        traced = tracemalloc.get_traced_memory()[1] if tracemalloc.is_tracing() else None
        out["runs"].append(
            {
                "name": name,
                "as_of": run.as_of.isoformat(),
                "min_interval_s": policy.min_interval.total_seconds(),
                "seconds": seconds,
                "users": run.users,
                "batches": len(run.batches),
                "tasks_created": run.tasks_created,
                "follow_ups": run.follow_ups,
                "taking": run.reciprocity,
                "rss_before_mib": rss_before / 1024,
                "rss_peak_growth_mib": (peak - rss_before) / 1024 if reset else None,
                "maxrss_growth_mib": (
                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - maxrss_before
                )
                / 1024,
                "tracemalloc_peak_mib": None if traced is None else traced / 2**20,
            }
        )

    await one("first run (creates the tasks)", None, default)
    await one("second run, right after (min_interval 0)", None, again)
    # Python's own allocations, traced (slower, so not timed against the target): a third run
    # one day later, which creates the tasks of the contacts that fell due in that day.
    tracemalloc.start()
    tomorrow = utcnow() + timedelta(days=1)
    await one("third run, as_of + 1 day, traced by tracemalloc", tomorrow, again)
    tracemalloc.stop()
    out["explained"] = [
        await explain_one_batch(db, settings.scheduler_batch_size, first_run=False),
        await explain_one_batch(db, settings.scheduler_batch_size, first_run=True),
    ]
    await db.dispose()
    return out


async def explain_one_batch(db: Any, batch_size: int, *, first_run: bool) -> dict[str, Any]:
    """What one batch spends its time on: the statements of one batch (`apply_rules` and the
    two counts, as `run_for_all` runs them) with PostgreSQL's auto_explain logging each one's
    EXPLAIN ANALYZE to the server log, in a transaction that is rolled back. `first_run`:
    the batch's rule 5/6 tasks are removed first, so that they are created again as in the
    first run; else the batch is run as it stands (as a repeated run finds it)."""
    from sqlalchemy import delete, text
    from sqlmodel import col

    from app.auth.models import User
    from app.core.db import utcnow
    from app.etiquette.models import EtiquetteTask
    from app.scheduler.queries import follow_up_items, taking_contacts
    from app.scheduler.service import apply_rules

    t = EtiquetteTask
    async with db.write_sessions() as session:
        conn = await session.connection()
        claim = select(col(User.id)).order_by(col(User.id)).limit(batch_size)
        ids = list((await conn.execute(claim)).scalars())

        def owners(column: Any) -> Any:
            return column.in_(ids)

        rule_tasks = (col(t.kind).in_(["reconnect", "offer_help"]), col(t.source) == "rule")
        if first_run:
            await conn.execute(delete(t).where(owners(col(t.owner_id)), *rule_tasks))
        for setting in AUTO_EXPLAIN:
            await conn.execute(text(setting))
        name = "first" if first_run else "repeat"
        await conn.execute(text(f"SELECT '{name}' AS {MARKER}"))  # separates the batches' plans
        now = utcnow()
        started = time.perf_counter()
        created = await apply_rules(session, owners, now, now)
        items = follow_up_items("postgresql", owners, now)
        await conn.execute(select(func.count()).select_from(items))
        await conn.execute(
            select(func.count()).select_from(taking_contacts("postgresql", owners, now))
        )
        seconds = time.perf_counter() - started
        await session.rollback()
    return {"name": name, "users": len(ids), "tasks_created": created, "seconds": seconds}


def run_all_users(url: str, server_log: Path | None = None) -> dict[str, Any]:
    offset = server_log.stat().st_size if server_log and server_log.exists() else 0
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--all-users-worker", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the all-users run failed:\n{result.stderr[-4000:]}")
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    if server_log and server_log.exists():
        with server_log.open(errors="replace") as log:
            log.seek(offset)
            plans = auto_explain_plans(log.read())
        batch: list[dict[str, Any]] = []
        groups: dict[str, list[dict[str, Any]]] = {}
        for plan in plans:
            if MARKER in plan["query"]:
                batch = groups.setdefault(plan["query"].split("'")[1], [])
            else:
                batch.append(plan)
        for explained in data["explained"]:
            explained["plans"] = groups.get(explained["name"], [])
    return data


def auto_explain_plans(log: str) -> list[dict[str, Any]]:
    """The plans auto_explain wrote to a server log: duration, statement and plan of each."""
    plans: list[dict[str, Any]] = []
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if "LOG:  duration:" not in line or "plan:" not in line:
            continue
        ms = float(line.split("duration:", 1)[1].split("ms", 1)[0])
        body = []
        for following in lines[i + 1 :]:
            if not following.startswith("\t"):
                break
            body.append(following[1:])
        # The statement (it may span lines), then the plan from its first node on.
        start = next((n for n, b in enumerate(body) if _PLAN_NODE.search(b)), len(body))
        text = "\n".join(body[:start]).removeprefix("Query Text:").strip()
        plans.append({"ms": ms, "query": text, "plan": "\n".join(body[start:])})
    return plans


_PLAN_NODE = re.compile(r"\(cost=[\d.]+\.\.[\d.]+ rows=")


def statement_label(query: str) -> str:
    """A short name for one of the scheduler's statements."""
    q = " ".join(query.split())
    reciprocity = "reciprocity_score" in q or "power(" in q
    if q.startswith("INSERT INTO etiquette_tasks"):
        if "follow_up_due_at" in q:
            return "rule 5: INSERT … SELECT reconnect tasks (overdue contacts)"
        if reciprocity:
            return "rule 6: INSERT … SELECT offer_help tasks (taking contacts)"
        if "FROM interactions JOIN contacts" in q:
            return "rules 1, 3, 4 re-check: INSERT … SELECT from recent interactions"
        if "FROM asks JOIN contacts" in q:
            return "rule 2 re-check: INSERT … SELECT from recent asks"
    if q.startswith("UPDATE etiquette_tasks"):
        return "rule 5: UPDATE reconnect tasks the rule dismissed back to pending"
    lock = re.search(r"FOR (NO KEY UPDATE|UPDATE|KEY SHARE|SHARE)", q)
    if q.startswith("SELECT") and lock:
        table = q.split(" FROM ", 1)[1].split()[0]
        return f"lock the batch's {table} rows (SELECT … {lock.group(0)})"
    if q.startswith("SELECT count(*)"):
        return "count taking contacts" if reciprocity else "count follow-up items"
    return _short_sql(q)[:120]


def _short_sql(text: str) -> str:
    """Plans and statements without the batch's hundred ids."""
    text = re.sub(r"'\{[0-9a-f,\-]+\}'::uuid\[\]", "'{…batch ids…}'::uuid[]", text)
    text = re.sub(r"ARRAY\[(\$\d+, )+\$\d+\]", "ARRAY[…batch ids…]", text)
    return re.sub(r"\((\$\d+::UUID, )+\$\d+::UUID\)", "(…batch ids…)", text)


async def all_users_counts(url: str) -> dict[str, Any]:
    """What the all-users data and its runs look like, from the database."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        tasks = await conn.fetch(
            "SELECT kind, count(*) AS n FROM etiquette_tasks GROUP BY kind ORDER BY kind"
        )
        size = await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
    finally:
        await conn.close()
    return {"tasks_by_kind": {row["kind"]: row["n"] for row in tasks}, "database_size": size}


# ---------------------------------------------------------------------------------------------
# Machine


def machine_info(pg_url: str | None, cluster: BenchCluster | None) -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    info: dict[str, Any] = {
        "nproc": subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip(),
        "cpu": cpu,
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    if pg_url and cluster:
        info["postgresql"] = cluster.psql(pg_url, "SHOW server_version")
        info["pg_jit"] = cluster.psql(pg_url, "SHOW jit")
    versions = {}
    for package in ("sqlalchemy", "sqlmodel", "asyncpg", "aiosqlite", "fastapi"):
        from importlib.metadata import version

        versions[package] = version(package)
    info["packages"] = versions
    info["code"] = code_revision()
    return info


def code_fingerprint() -> str:
    """A digest of app/ and alembic/, to tell whether the code changed during a run."""
    digest = hashlib.sha256()
    for path in sorted([*ROOT.glob("app/**/*.py"), *ROOT.glob("alembic/**/*.py")]):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def code_revision() -> str:
    """The commit measured, and whether app/ or alembic/ had uncommitted changes."""

    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return result.stdout.rstrip() if result.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = [
        line[3:] for line in git("status", "--porcelain", "--", "app", "alembic").splitlines()
    ]
    if not changed:
        return f"commit {head}"
    return f"commit {head} with uncommitted changes to " + ", ".join(f"`{p}`" for p in changed)


# ---------------------------------------------------------------------------------------------
# The report


def _ms(value: float) -> str:
    return f"{value:.1f}"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _setup(report: dict[str, Any], database: str) -> str:
    for result in report["power_user"]:
        if result["database"] == database and result.get("setup"):
            return ", ".join(f"`{k}` {v}" for k, v in result["setup"].items())
    return "-"


def render(report: dict[str, Any], previous: str | None = None) -> str:
    info, scale = report["machine"], report["scale"]
    lines: list[str] = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench.run`, see bench/run.py), except the "
        "Diagnosis section, which is written by hand after a run and carried over by the next "
        "one (flagged when it was written for an earlier run).",
        f"Run of {report['started']} (UTC), took {report['minutes']:.1f} minutes"
        + ("" if scale == 1 else f", **scaled ×{scale}: not the recorded sizes**")
        + ".",
        "",
    ]
    header = list(lines)
    body = lines  # the same list: `lines +=` extends it
    lines += [
        "## Machine",
        "",
        f"- {info['nproc']} cores ({info['cpu']}), {info['memory']} RAM, {info['os']}. Shared "
        "and noisy: other jobs run on the same cores, so single runs can spike; medians are the "
        f"figures to trust. Load average when the report was written: {info['load_average']}.",
        f"- Python {info['python']}; SQLite {info['sqlite']}; PostgreSQL "
        f"{info.get('postgresql', '-')}; "
        + ", ".join(f"{k} {v}" for k, v in info["packages"].items())
        + ".",
        "- PostgreSQL: a throwaway cluster (tests/pg.py) on the same machine over TCP, with "
        + ", ".join(f"`{k}={v}`" for k, v in PG_SETTINGS.items())
        + " (and the test cluster's `fsync=off`, `synchronous_commit=off`, "
        "`full_page_writes=off`, which affect writes' durability, not plans). The server's "
        f"own `jit` is {info.get('pg_jit', '-')}; the figures and plans below come from the "
        "app's engine and sessions (app/core/db.py), which run with "
        + _setup(report, "PostgreSQL")
        + ".",
        "- SQLite: a file on local disk, opened through the app's engine and sessions: "
        + _setup(report, "SQLite")
        + ".",
        f"- Code measured: {info.get('code', '-')}."
        + (
            " **app/ or alembic/ changed while this ran: the figures mix code versions; "
            "run again.**"
            if report.get("code_changed")
            else ""
        ),
        "",
        "## Datasets",
        "",
        "Made by bench/generate.py (seeded, deterministic for a seed and anchor date), loaded "
        "straight into the database after `alembic upgrade head`: COPY on PostgreSQL, "
        "`executemany` on SQLite, secondary indexes rebuilt afterwards, then VACUUM ANALYZE / "
        "ANALYZE. Contacts spread over circles (15 % with their own cadence, 6 % untracked, "
        "4 % snoozed); interactions over the last three years with a skewed per-contact spread "
        "(88 % completed, 6 % planned, 6 % cancelled, 1 % deleted); asks in both directions "
        "(55 % fulfilled); etiquette tasks as the app's rules 1–4 make them on write for the "
        "records of the last 30 days (so that the scheduler's re-check finds nothing missing, "
        "as in service), pending or closed, and a few older and custom ones. "
        "`last_contacted_at`, `follow_up_due_at` and the stored reciprocity (per-contact sums, "
        "score, `last_resolved_at`) are filled as the app maintains them (`python -m "
        "bench.generate --verify` checks them, and the re-check, on a database).",
        "",
        "| dataset | database | users | contacts | interactions | asks | tasks | "
        "generation (load + indexes/analyse) |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for key, gen in report["generated"]:
        rows = gen["rows"]
        lines.append(
            f"| {gen['dataset']} | {key} | {rows['users']:,} | {rows['contacts']:,} | "
            f"{rows['interactions']:,} | {rows['asks']:,} | {rows['etiquette_tasks']:,} | "
            f"{gen['seconds']:.0f} s ({gen['load_seconds']:.0f} s + {gen['index_seconds']:.0f} s"
            f", {gen['workers']} writer{'s' if gen['workers'] > 1 else ''}) |"
        )
    if "all_users_counts" in report:
        lines += ["", f"All-users database size: {report['all_users_counts']['database_size']}."]

    lines += [
        "",
        "## Power user: follow-ups and reciprocity",
        "",
        f"Median and p95 in ms over {report['runs']} runs after {report['warmup']} warm-up "
        "runs. *service*: `follow_ups_page` / `reciprocity_page` (app/scheduler/service.py) "
        "called directly, in a fresh read session (what a request's session costs included). "
        "*http*: the whole request through the ASGI app with httpx (routing, token, "
        "serialisation) — for information; the targets apply to the service figures. "
        "Targets: ≤ 20 ms for as_of = now, ≤ 100 ms for any other as_of.",
        "",
        "| database | query | as_of | service median | service p95 | http median | "
        "http p95 | target | verdict |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    verdicts: list[tuple[bool, str]] = []
    for result in report["power_user"]:
        for label, queries in result["timings"].items():
            target = TARGET_NOW_MS if label == "now" else TARGET_OTHER_MS
            for name, kinds in queries.items():
                service = Timing(name, kinds["service"])
                http = Timing(name, kinds["http"])
                ok = service.median <= target
                verdicts.append(
                    (
                        ok,
                        f"{result['database']} {name}, as_of {label}: median "
                        f"{_ms(service.median)} ms (target ≤ {target:.0f} ms)",
                    )
                )
                lines.append(
                    f"| {result['database']} | {name} | {label} | {_ms(service.median)} | "
                    f"{_ms(service.p95)} | {_ms(http.median)} | {_ms(http.p95)} | "
                    f"≤ {target:.0f} | {_verdict(ok)} |"
                )
    lines += [
        "",
        "The verdict compares the median with the target (p95 shown for the noise). The floor "
        "under every service figure, opening a read session and running `SELECT 1`: "
        + "; ".join(
            f"{r['database']} median {_ms(Timing('', r['baseline']).median)} ms, p95 "
            f"{_ms(Timing('', r['baseline']).p95)} ms"
            for r in report["power_user"]
            if r.get("baseline")
        )
        + ".",
        "",
        "What the queries return for the power user (all follow-up items, the first page's "
        "items, contacts with a reciprocity balance):",
        "",
        "| database | as_of | follow-up items | on the first page | reciprocity contacts |",
        "|---|---|---:|---:|---:|",
    ]
    for result in report["power_user"]:
        for label, size in result["sizes"].items():
            lines.append(
                f"| {result['database']} | {label} | {size['follow_ups']:,} | "
                f"{size['first_page']} | {size['reciprocity']:,} |"
            )
    lines += [
        "",
        "Where the service time goes: the statements one call sends, caught as the driver "
        "receives them, then each run alone (same SQL and parameters, the same number of runs) "
        "on one session's connection. *Rest*: the service median minus their medians — "
        "opening the session, building and compiling the SQL, reading the rows into the "
        "response models.",
        "",
        "| database | query | as_of | service median | statements (median each) | rest |",
        "|---|---|---|---:|---|---:|",
    ]
    for result in report["power_user"]:
        for label, queries in result.get("statements", {}).items():
            for name, statements in queries.items():
                median = Timing(name, result["timings"][label][name]["service"]).median
                each = [Timing("", st["runs"]).median for st in statements]
                lines.append(
                    f"| {result['database']} | {name} | {label} | {_ms(median)} | "
                    + "; ".join(
                        f"{st['label']}: {_ms(ms)}" for st, ms in zip(statements, each, strict=True)
                    )
                    + f" | {_ms(median - sum(each))} |"
                )

    if any(result.get("sync") for result in report["power_user"]):
        lines += [
            "",
            "## Power user: sync",
            "",
            f"`GET /v1/sync?limit={SYNC_PAGE}` through the ASGI app with httpx (token, queries, "
            "etiquette warnings of the asks, serialisation), median and p95 in ms over "
            f"{report['runs']} runs. No target in the contract; for watching.",
            "",
            "| database | case | records | median | p95 |",
            "|---|---|---:|---:|---:|",
        ]
        for result in report["power_user"]:
            for case, runs in result.get("sync", {}).items():
                timing = Timing(case, runs)
                lines.append(
                    f"| {result['database']} | {case} | {result['sync_records'][case]:,} | "
                    f"{_ms(timing.median)} | {_ms(timing.p95)} |"
                )
            records = result.get("sync_records", {})
            if "pages for the whole feed" in records:
                lines.append(
                    f"| {result['database']} | a first sync of everything, page after page | "
                    f"{records['pages for the whole feed']:,} pages | "
                    f"{records['seconds for the whole feed']:,} s in all | |"
                )

    if "all_users" in report:
        data = report["all_users"]
        lines += [
            "",
            "## All users: the scheduler run on PostgreSQL",
            "",
            f"`run_for_all` (app/scheduler/service.py) with the default policy (batches of "
            f"{data['policy']['batch_size']} users, min_interval "
            f"{data['policy']['min_interval_s']:.0f} s), in a fresh process. Memory: the "
            "growth of the process's peak RSS during the run (VmHWM reset before it, minus the "
            "RSS before it); the third run is traced with tracemalloc (Python allocations), "
            "which slows it, so its time is not held against the target. Targets: ≤ 15 s "
            "with the tasks created, peak memory growth ≤ 200 MB.",
            "",
            "| run | users | batches | tasks created | follow-up items | taking | wall time | "
            "peak RSS growth | tracemalloc peak | verdict |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for i, run in enumerate(data["runs"]):
            growth = run["rss_peak_growth_mib"]
            if growth is None:
                growth = run["maxrss_growth_mib"]
            growth = max(growth, 0.0)
            traced = run["tracemalloc_peak_mib"]
            verdict = "-"
            if i < 2:
                ok = run["seconds"] <= TARGET_ALL_USERS_S and growth <= TARGET_MEMORY_MB
                verdicts.append(
                    (
                        ok,
                        f"all users, {run['name']}: {run['seconds']:.1f} s (target ≤ "
                        f"{TARGET_ALL_USERS_S:.0f} s), peak RSS growth {growth:.0f} MiB "
                        f"(target ≤ {TARGET_MEMORY_MB:.0f} MB)",
                    )
                )
                verdict = _verdict(ok)
            lines.append(
                f"| {run['name']} | {run['users']:,} | {run['batches']} | "
                f"{run['tasks_created']:,} | {run['follow_ups']:,} | {run['taking']:,} | "
                f"{run['seconds']:.1f} s | {growth:.0f} MiB | "
                f"{'-' if traced is None else f'{traced:.1f} MiB'} | {verdict} |"
            )
        counts = report.get("all_users_counts", {}).get("tasks_by_kind", {})
        if counts:
            lines += [
                "",
                "Etiquette tasks after the runs, by kind: "
                + ", ".join(f"{k} {v:,}" for k, v in counts.items())
                + ". Where the time goes: see the batches explained at the end.",
            ]

    explained_lines: list[str] = []
    if "all_users" in report:
        for explained in report["all_users"].get("explained", []):
            first = explained["name"] == "first"
            lines = explained_lines
            lines += [
                "",
                f"## All users, one batch explained: "
                f"{'as in the first run' if first else 'a repeated run'}"
                f" ({explained['users']} users, {explained['tasks_created']:,} tasks created, "
                f"{explained['seconds']:.1f} s under auto_explain)",
                "",
                (
                    "The batch's reconnect and offer_help tasks are removed first, so that they "
                    "are created again, as in the first run."
                    if first
                    else "The batch as the runs above left it: what every later run does."
                )
                + " The statements of one batch as `run_for_all` runs them, logged by "
                "PostgreSQL's auto_explain (`log_analyze`, `log_buffers`, `log_triggers`), in a "
                "transaction that is rolled back. Time per statement (EXPLAIN ANALYZE's own "
                "overhead included):",
                "",
                "| # | ms | statement |",
                "|---:|---:|---|",
            ]
            plans = explained.get("plans", [])
            for n, plan in enumerate(plans, 1):
                lines.append(f"| {n} | {plan['ms']:.0f} | {statement_label(plan['query'])} |")
            for n, plan in enumerate(plans, 1):
                if plan["ms"] >= 200:
                    lines += ["", f"Statement {n}, {statement_label(plan['query'])}:", ""]
                    lines += ["```", _short_sql(plan["plan"]), "```"]

    lines = body
    lines += [
        "",
        "## Query plans (power user)",
        "",
        "The statements of one call, as the app sends them. PostgreSQL: EXPLAIN (ANALYZE, "
        f"BUFFERS) logged by auto_explain for call {PLAN_CALLS} of {PLAN_CALLS} in one session "
        "(prepared statements: from the sixth execution PostgreSQL may keep a generic plan, "
        "whose conditions show $1, $2 …, as the timed runs do), for as_of = now and every "
        "case whose target is missed. SQLite: EXPLAIN QUERY PLAN, for as_of = now (the SQL, "
        "and so the plan, is the same for every as_of).",
        "",
    ]
    for result in report["power_user"]:
        pg = result["database"] == "PostgreSQL"
        for label, queries in result.get("statements", {}).items():
            for name, statements in queries.items():
                target = TARGET_NOW_MS if label == "now" else TARGET_OTHER_MS
                median = Timing(name, result["timings"][label][name]["service"]).median
                if label != "now" and (not pg or median <= target):
                    continue
                lines += [
                    f"### {result['database']}: {name}, as_of = {label} (service median "
                    f"{_ms(median)} ms, target ≤ {target:.0f} ms: "
                    f"{_verdict(median <= target).strip('*')})",
                    "",
                ]
                for n, st in enumerate(statements, 1):
                    alone = _ms(Timing("", st["runs"]).median)
                    logged = f", {st['plan_ms']:.1f} ms under auto_explain" if pg else ""
                    lines += [
                        f"Statement {n}, {st['label']} (median {alone} ms alone{logged}):",
                        "",
                        "```",
                        st["plan"] or "(no plan captured)",
                        "```",
                        "",
                    ]
    lines += explained_lines
    met = sum(ok for ok, _ in verdicts)
    summary = [
        "## Summary",
        "",
        f"{met} of {len(verdicts)} targets met"
        + (" (scaled run: not the recorded figures)" if scale != 1 else "")
        + (". Not met:" if met < len(verdicts) else "."),
        "",
        *(f"- {what}" for ok, what in verdicts if not ok),
        "",
        *diagnosis(previous, report["started"]),
    ]
    return "\n".join(header + summary + body[len(header) :]) + "\n"


_DIAGNOSIS = re.compile(r"<!-- diagnosis: run of (.*?) -->\n(.*?)<!-- /diagnosis -->", re.S)


def diagnosis(previous: str | None, started: str) -> list[str]:
    """The hand-written Diagnosis section of the previous report, carried over between its
    markers (`<!-- diagnosis: run of … -->` … `<!-- /diagnosis -->`), flagged when it was
    written for another run: the prose is revisited by hand after each recorded run."""
    found = _DIAGNOSIS.search(previous or "")
    lines = ["## Diagnosis", ""]
    if found is None:
        return [
            *lines,
            f"<!-- diagnosis: run of {started} -->",
            "Not written yet: read the figures and plans below, then write it here.",
            "<!-- /diagnosis -->",
            "",
        ]
    written_for, text = found.groups()
    if written_for != started:
        lines += [
            f"**Written for the run of {written_for}, not this one: check it against the "
            "figures below and update it (and the date in its marker).**",
            "",
        ]
    return [
        *lines,
        f"<!-- diagnosis: run of {written_for} -->",
        text.strip("\n"),
        "<!-- /diagnosis -->",
        "",
    ]


# ---------------------------------------------------------------------------------------------
# Main


def main() -> None:
    parser = argparse.ArgumentParser(description="Rapport benchmarks (writes docs/benchmarks.md)")
    parser.add_argument(
        "--scale",
        type=float,
        default=float(os.environ.get("RAPPORT_BENCH_SCALE", "1")),
        help="scale the datasets (default 1, or RAPPORT_BENCH_SCALE): 0.1 for a quick run",
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-all-users", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--all-users-worker", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.all_users_worker:
        print(json.dumps(asyncio.run(all_users_worker(args.all_users_worker))))
        return

    started = time.perf_counter()
    fingerprint = code_fingerprint()
    report: dict[str, Any] = {
        "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "scale": args.scale,
        "runs": args.runs,
        "warmup": args.warmup,
        "generated": [],
        "power_user": [],
    }
    power = POWER_USER.scaled(args.scale)
    everyone = ALL_USERS.scaled(args.scale)

    def step(text: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {text}", flush=True)

    step("starting a throwaway PostgreSQL cluster")
    cluster = BenchCluster()
    workdir = Path(tempfile.mkdtemp(prefix="rapport-bench-"))
    try:
        pg_url = cluster.start()
        report["machine"] = machine_info(pg_url, cluster)

        def power_user(url: str, database: str) -> None:
            step(f"{database}: generating the power user ({power.interactions:,} interactions)")
            generated = generate(url, power, seed=args.seed)
            report["generated"].append((database, _generated_summary(generated)))
            step(f"{database}: measuring ({args.runs} runs per case)")
            result = asyncio.run(
                measure_power_user(
                    url,
                    generated.user_ids[0],
                    args.runs,
                    args.warmup,
                    database,
                    generated,
                    cluster.root / "server.log" if database == "PostgreSQL" else None,
                )
            )
            report["power_user"].append(asdict(result))
            _print_power_user(result)

        power_user(pg_url, "PostgreSQL")
        if not args.skip_sqlite:
            power_user(f"sqlite:///{workdir / 'power-user.db'}", "SQLite")

        if not args.skip_all_users:
            all_url = cluster.create_database(pg_url, "rapport_all")
            step(
                f"PostgreSQL: generating all users ({everyone.users:,} users, "
                f"{everyone.interactions:,} interactions)"
            )
            generated = generate(all_url, everyone, seed=args.seed)
            report["generated"].append(("PostgreSQL", _generated_summary(generated)))
            step("PostgreSQL: the all-users runs")
            report["all_users"] = run_all_users(all_url, cluster.root / "server.log")
            report["all_users_counts"] = asyncio.run(all_users_counts(all_url))
            for run in report["all_users"]["runs"]:
                print(
                    f"    {run['name']}: {run['seconds']:.1f} s, {run['tasks_created']:,} tasks, "
                    f"peak RSS growth {run['rss_peak_growth_mib']} MiB, "
                    f"tracemalloc {run['tracemalloc_peak_mib']}",
                    flush=True,
                )
        report["machine"]["load_average"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    finally:
        step("stopping PostgreSQL")
        cluster.stop()
        for path in workdir.glob("*"):
            path.unlink()
        workdir.rmdir()

    report["minutes"] = (time.perf_counter() - started) / 60
    if code_fingerprint() != fingerprint:
        report["code_changed"] = True
        print("WARNING: app/ or alembic/ changed during the run: the figures mix versions")
    previous = args.output.read_text() if args.output.exists() else None
    from bench.http_bench import keep_section  # the HTTP benchmark's section stays as it was

    args.output.write_text(keep_section(render(report, previous), previous))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    step(f"wrote {args.output}")


def _print_power_user(result: PowerUserResult) -> None:
    floor = Timing("", result.baseline)
    print(f"    {result.database:10} session + SELECT 1: median {floor.median:.1f} ms", flush=True)
    for label, queries in result.timings.items():
        for name, kinds in queries.items():
            service, http = Timing(name, kinds["service"]), Timing(name, kinds["http"])
            print(
                f"    {result.database:10} {name:12} as_of {label:14} "
                f"service median {service.median:7.1f} ms p95 {service.p95:7.1f} | "
                f"http median {http.median:7.1f} ms p95 {http.p95:7.1f}",
                flush=True,
            )
    for case, runs in result.sync.items():
        timing = Timing(case, runs)
        print(
            f"    {result.database:10} sync {case:28} median {timing.median:7.1f} ms "
            f"p95 {timing.p95:7.1f} ({result.sync_records[case]:,} records)",
            flush=True,
        )


if __name__ == "__main__":
    main()
