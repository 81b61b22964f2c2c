"""The hand-written baseline the HTTP benchmark (bench/http.py) measures Rapport against.

    BENCH_DATABASE_URL=postgresql://… RAPPORT_SECRET_KEY=… \
        uvicorn bench.baseline:app --workers 2 --no-access-log

A bare Starlette app serving the benchmarked requests the most direct way: hand-written SQL
through asyncpg (a pool per worker, as large as Rapport's) or sqlite3 (one connection per
thread of a small pool, a single hop to the thread per request), the same bearer check as
Rapport (an HS256 JWT verified with PyJWT, `typ` = access; Rapport looks nothing up in the
database for it), and the same JSON bytes: the same fields in the same order, times in UTC
with `Z`, the same signed cursors, the same ETag and 304. bench/http.py compares the answers
of both apps before it measures.

It serves only what the benchmark asks (first pages, reads as of now, a contact created from
the fields clients send most): it is a yardstick, not a second implementation.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.contacts.keys import email_key, phone_key, region_for_timezone

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "sqlite:///./rapport.db")
SECRET = os.environ.get("RAPPORT_SECRET_KEY", "")
DIALECT = "postgresql" if DATABASE_URL.startswith("postgres") else "sqlite"
# Rapport's pool: 20 connections per worker (app/core/config.py).
PG_POOL_SIZE = 20
SQLITE_THREADS = 8

CIRCLES = {
    "coworker": 30, "former_coworker": 90, "classmate": 180, "alumni": 180, "community": 60,
    "family": 30, "friend": 30, "neighbour": 60, "career_fair": 14, "online": 90, "other": 90,
}  # fmt: skip
ROLES = {"peer", "mentor", "role_model", "mentee"}
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
RANK_TYPES = ("reconnect", "etiquette_task", "promise", "nudge")

CONTACT_COLUMNS = (
    "id, created_at, updated_at, version, full_name, email, phone, organization, title, field, "
    "circle, how_met, tags, notes, role, open_to, cadence_days, track_follow_ups, snoozed_until"
)


# ---------------------------------------------------------------------------------------------
# Values as each database returns them, to JSON


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


if DIALECT == "postgresql":

    def out_uuid(value: Any) -> str | None:
        return None if value is None else str(value)

    def out_time(value: Any) -> str | None:
        return None if value is None else value.isoformat().replace("+00:00", "Z")

    def as_time(value: Any) -> datetime:
        return value  # type: ignore[no-any-return]

    def in_uuid(value: uuid.UUID) -> Any:
        return value

    def in_time(value: datetime) -> Any:
        return value

else:

    def out_uuid(value: Any) -> str | None:
        if value is None:
            return None
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"

    def out_time(value: Any) -> str | None:
        # Stored as naive UTC `YYYY-MM-DD HH:MM:SS.ffffff`; isoformat drops zero microseconds.
        if value is None:
            return None
        if value.endswith(".000000"):
            value = value[:-7]
        return value.replace(" ", "T") + "Z"

    def as_time(value: Any) -> datetime:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    def in_uuid(value: uuid.UUID) -> Any:
        return value.hex

    def in_time(value: datetime) -> Any:
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _list(value: Any) -> list[Any]:
    return json.loads(value) if isinstance(value, str) else list(value or [])


def contact_json(row: Any) -> dict[str, Any]:
    return {
        "id": out_uuid(row[0]),
        "created_at": out_time(row[1]),
        "updated_at": out_time(row[2]),
        "version": row[3],
        "full_name": row[4],
        "email": row[5],
        "phone": row[6],
        "organization": row[7],
        "title": row[8],
        "field": row[9],
        "circle": row[10],
        "how_met": row[11],
        "tags": _list(row[12]),
        "notes": row[13],
        "role": row[14],
        "open_to": _list(row[15]),
        "cadence_days": row[16],
        "track_follow_ups": bool(row[17]),
        "snoozed_until": out_time(row[18]),
    }


# ---------------------------------------------------------------------------------------------
# Cursors, signed as Rapport signs them (app/core/pagination.py)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _cursor_key(purpose: str) -> bytes:
    return hmac.new(SECRET.encode(), f"cursor:{purpose}".encode(), hashlib.sha256).digest()


LIST_KEY, SYNC_KEY = _cursor_key("list"), _cursor_key("sync")


def cursor(key: bytes, data: dict[str, Any]) -> str:
    payload = json.dumps(data, separators=(",", ":"), default=str).encode()
    signature = _b64(hmac.new(key, payload, hashlib.sha256).digest()[:16])
    return f"{_b64(payload)}.{signature}"


def filters_digest(filters: dict[str, Any]) -> str:
    canonical = json.dumps(filters, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def iso(value: Any) -> str:
    """`datetime.isoformat()` of a stored time, as Rapport puts it in cursors."""
    return as_time(value).isoformat()


# ---------------------------------------------------------------------------------------------
# HTTP


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return Response(_dumps(body), status, headers, media_type="application/problem+json")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_dumps(body), status, headers, media_type="application/json")


def user_of(request: Request) -> uuid.UUID | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        claims = jwt.decode(
            token, SECRET, algorithms=["HS256"], options={"require": ["exp", "sub", "iat"]}
        )
        if claims.get("typ") != "access":
            return None
        return uuid.UUID(str(claims["sub"]))
    except (jwt.PyJWTError, ValueError, TypeError):
        return None


def authenticated(handler: Callable[[Request, uuid.UUID], Any]) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        user_id = user_of(request)
        if user_id is None:
            return problem(
                401,
                "Unauthorized",
                "The access token is invalid or expired; refresh it.",
                {"WWW-Authenticate": "Bearer"},
            )
        response: Response = await handler(request, user_id)
        return response

    return endpoint


def limit_of(request: Request, default: int, most: int) -> int | Response:
    try:
        limit = int(request.query_params.get("limit", default))
    except ValueError:
        limit = 0
    if not 1 <= limit <= most:
        return problem(422, "Unprocessable Content", "Invalid input: query.limit.")
    return limit


# ---------------------------------------------------------------------------------------------
# The database


class Postgres:
    def __init__(self) -> None:
        self.pool: Any = None

    async def open(self) -> None:
        import asyncpg

        self.pool = await asyncpg.create_pool(
            DATABASE_URL,
            min_size=2,
            max_size=PG_POOL_SIZE,
            server_settings={"jit": "off", "application_name": "rapport-baseline"},
        )

    async def close(self) -> None:
        await self.pool.close()


class Sqlite:
    """sqlite3 connections, one per thread of a small pool; a request is one hop to a thread."""

    def __init__(self) -> None:
        self.path = DATABASE_URL.split("///", 1)[1]
        self.local = threading.local()
        self.executor = ThreadPoolExecutor(SQLITE_THREADS, thread_name_prefix="sqlite")

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self.local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=15000")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
            self.local.conn = conn
        return conn

    async def run(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, lambda: work(self._connection()))

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        self.executor.shutdown(wait=False)


DB: Any = Postgres() if DIALECT == "postgresql" else Sqlite()


# ---------------------------------------------------------------------------------------------
# Contacts

LIST_SQL = {
    "postgresql": f"SELECT {CONTACT_COLUMNS} FROM contacts WHERE owner_id = $1 "
    "AND deleted_at IS NULL ORDER BY created_at, id LIMIT $2",
    "sqlite": f"SELECT {CONTACT_COLUMNS} FROM contacts WHERE owner_id = ? "
    "AND deleted_at IS NULL ORDER BY created_at, id LIMIT ?",
}[DIALECT]
GET_SQL = {
    "postgresql": f"SELECT {CONTACT_COLUMNS} FROM contacts WHERE owner_id = $1 "
    "AND deleted_at IS NULL AND id = $2",
    "sqlite": f"SELECT {CONTACT_COLUMNS} FROM contacts WHERE owner_id = ? "
    "AND deleted_at IS NULL AND id = ?",
}[DIALECT]


async def fetch(sql: str, *args: Any) -> list[Any]:
    if DIALECT == "postgresql":
        async with DB.pool.acquire() as conn:
            return list(await conn.fetch(sql, *args))
    rows: list[Any] = await DB.run(lambda conn: conn.execute(sql, args).fetchall())
    return rows


async def list_contacts(request: Request, user_id: uuid.UUID) -> Response:
    limit = limit_of(request, 50, 200)
    if isinstance(limit, Response):
        return limit
    rows = await fetch(LIST_SQL, in_uuid(user_id), limit + 1)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        digest = filters_digest(
            {
                "resource": "contacts",
                "owner": str(user_id),
                "q": None,
                "circle": None,
                "tag": None,
                "updated_since": None,
            }
        )
        next_cursor = cursor(LIST_KEY, {"f": digest, "t": iso(last[1]), "i": out_uuid(last[0])})
    return json_response({"items": [contact_json(r) for r in rows], "next_cursor": next_cursor})


async def get_contact(request: Request, user_id: uuid.UUID) -> Response:
    try:
        contact_id = uuid.UUID(request.path_params["contact_id"])
    except ValueError:
        return problem(422, "Unprocessable Content", "Invalid input: path.contact_id.")
    rows = await fetch(GET_SQL, in_uuid(user_id), in_uuid(contact_id))
    if not rows:
        return problem(404, "Not Found", "No contact with this id.")
    etag = f'"{rows[0][3]}"'
    tags = [
        t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")
    ]
    if etag in tags or "*" in tags:
        return Response(status_code=304, headers={"ETag": etag})
    return json_response(contact_json(rows[0]), headers={"ETag": etag})


def _text(body: dict[str, Any], name: str, most: int, least: int = 0) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not least <= len(value.strip()) <= most or "\x00" in value:
        raise ValueError(name)
    return value.strip()


INSERT_COLUMNS = (
    "id, owner_id, created_at, updated_at, version, sync_seq, full_name, email, phone, "
    "organization, title, field, circle, how_met, tags, notes, role, open_to, cadence_days, "
    "track_follow_ups, follow_up_due_at, reciprocity_given, reciprocity_received, email_key, "
    "phone_key"
)
INSERT_PG = (
    f"INSERT INTO contacts ({INSERT_COLUMNS}) VALUES ($1, $2, $3, $3, 1, "
    "pg_current_xact_id()::text::bigint, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13, "
    "$14, $15::jsonb, $16, $17, $18, 0, 0, $19, $20)"
)
INSERT_SQLITE = (
    f"INSERT INTO contacts ({INSERT_COLUMNS}) VALUES (?, ?, ?, ?, 1, "
    "(SELECT value FROM sync_clock WHERE id = 1), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
    "0, 0, ?, ?)"
)


async def create_contact(request: Request, user_id: uuid.UUID) -> Response:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return problem(415, "Unsupported Media Type", "Send `application/json`.")
    try:
        body = json.loads(await request.body())
        if not isinstance(body, dict):
            raise ValueError("body")
        full_name = _text(body, "full_name", 200, 1)
        if full_name is None:
            raise ValueError("full_name")
        email = _text(body, "email", 320)
        phone = _text(body, "phone", 50)
        organization = _text(body, "organization", 200)
        title = _text(body, "title", 200)
        field = _text(body, "field", 100)
        how_met = _text(body, "how_met", 500)
        notes = _text(body, "notes", 10_000)
        circle = body.get("circle", "other")
        role = body.get("role")
        tags = list(dict.fromkeys(t.strip() for t in body.get("tags", []) if t.strip()))
        cadence = body.get("cadence_days")
        if circle not in CIRCLES or (role is not None and role not in ROLES) or len(tags) > 50:
            raise ValueError("circle")
        if cadence is not None and (type(cadence) is not int or not 1 <= cadence <= 3650):
            raise ValueError("cadence_days")
    except (ValueError, TypeError, AttributeError):
        return problem(422, "Unprocessable Content", "Invalid input.")
    contact_id = uuid.uuid4()
    now = datetime.now(UTC)
    due = now + timedelta(days=cadence or CIRCLES[circle])
    values = [
        full_name, email, phone, organization, title, field, circle, how_met,
        json.dumps(tags), notes, role, "[]", cadence, True,
    ]  # fmt: skip

    if DIALECT == "postgresql":
        async with DB.pool.acquire() as conn, conn.transaction():
            timezone = await conn.fetchval("SELECT timezone FROM users WHERE id = $1", user_id)
            region = region_for_timezone(timezone)
            await conn.execute(
                INSERT_PG,
                contact_id, user_id, now, *values, due,
                email_key(email), phone_key(phone, region),
            )  # fmt: skip
    else:

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "INSERT INTO sync_clock (id, value) VALUES (1, 1) "
                    "ON CONFLICT (id) DO UPDATE SET value = value + 1"
                )
                found = conn.execute(
                    "SELECT timezone FROM users WHERE id = ?", (user_id.hex,)
                ).fetchone()
                region = region_for_timezone(found[0] if found else None)
                stamp = in_time(now)
                conn.execute(
                    INSERT_SQLITE,
                    (
                        contact_id.hex, user_id.hex, stamp, stamp, *values, in_time(due),
                        email_key(email), phone_key(phone, region),
                    ),
                )  # fmt: skip
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        await DB.run(write)
    stamp_out = out_time(in_time(now))
    out = {
        "id": str(contact_id), "created_at": stamp_out, "updated_at": stamp_out, "version": 1,
        "full_name": full_name, "email": email, "phone": phone, "organization": organization,
        "title": title, "field": field, "circle": circle, "how_met": how_met, "tags": tags,
        "notes": notes, "role": role, "open_to": [], "cadence_days": cadence,
        "track_follow_ups": True, "snoozed_until": None,
    }  # fmt: skip
    headers = {"ETag": '"1"', "Location": f"/v1/contacts/{contact_id}"}
    return json_response(out, 201, headers)


# ---------------------------------------------------------------------------------------------
# Follow-ups: the five kinds, each read in due order from its own index and cut at the page
# size, then merged; names joined to the page only (app/scheduler/queries.py does the same).


def _cadence_case() -> str:
    whens = " ".join(f"WHEN '{circle}' THEN {days}" for circle, days in CIRCLES.items())
    return f"coalesce(c.cadence_days, CASE c.circle {whens} ELSE 90 END)"


def _follow_ups_sql(dialect: str) -> str:
    # $1 owner, $2 as_of, $3 limit, $4 as_of - 14 days
    if dialect == "postgresql":
        p = {"owner": "$1", "as_of": "$2", "limit": "$3", "nudge_before": "$4"}
        latest = "(SELECT max(i.occurred_at) FROM interactions i WHERE i.contact_id = c.id"
        rewound_due = (
            f"coalesce({latest} AND i.status = 'completed' AND i.deleted_at IS NULL "
            f"AND i.occurred_at <= $2), c.created_at) "
            f"+ make_interval(secs => {_cadence_case()} * 86400)"
        )
        nudge_due = "a.created_at + interval '14 days'"
        null_uuid = "NULL::uuid"
        tracked = "c.track_follow_ups"
    else:
        p = {"owner": ":owner", "as_of": ":as_of", "limit": ":limit", "nudge_before": ":nudge"}
        since = (
            "coalesce((SELECT max(i.occurred_at) FROM interactions i WHERE i.contact_id = c.id "
            "AND i.status = 'completed' AND i.deleted_at IS NULL AND i.occurred_at <= :as_of), "
            "c.created_at)"
        )
        rewound_due = (
            f"strftime('%Y-%m-%d %H:%M:%S', substr({since}, 1, 19), "
            f"CAST({_cadence_case()} AS TEXT) || ' days') || substr({since}, 20)"
        )
        nudge_due = (
            "strftime('%Y-%m-%d %H:%M:%S', substr(a.created_at, 1, 19), '14 days') "
            "|| substr(a.created_at, 20)"
        )
        null_uuid = "NULL"
        tracked = "c.track_follow_ups = 1"
    owner, as_of, limit = p["owner"], p["as_of"], p["limit"]
    live_tracked = (
        f"c.owner_id = {owner} AND c.deleted_at IS NULL AND {tracked} "
        f"AND (c.snoozed_until IS NULL OR c.snoozed_until <= {as_of})"
    )
    return f"""
SELECT f.rank, f.contact_id, f.due, f.key, f.reference_id, n.full_name FROM (
  SELECT * FROM (
    SELECT 0 AS rank, c.id AS contact_id, c.follow_up_due_at AS due, c.id AS key,
           {null_uuid} AS reference_id
    FROM contacts c
    WHERE {live_tracked}
      AND (c.last_contacted_at IS NULL OR c.last_contacted_at <= {as_of})
      AND c.follow_up_due_at < {as_of}
    ORDER BY c.follow_up_due_at, c.id LIMIT {limit}) AS b1
  UNION ALL SELECT * FROM (
    SELECT 0 AS rank, r.contact_id, r.due, r.contact_id AS key, {null_uuid} AS reference_id
    FROM (SELECT c.id AS contact_id, {rewound_due} AS due FROM contacts c
          WHERE {live_tracked} AND c.last_contacted_at > {as_of}) AS r
    WHERE r.due < {as_of} ORDER BY r.due, r.contact_id LIMIT {limit}) AS b2
  UNION ALL SELECT * FROM (
    SELECT 1 AS rank, t.contact_id, t.due_at AS due, t.id AS key, t.id AS reference_id
    FROM etiquette_tasks t
    WHERE t.owner_id = {owner} AND t.status = 'pending' AND t.due_at < {as_of}
      AND t.deleted_at IS NULL AND t.kind != 'reconnect'
    ORDER BY t.due_at, t.id LIMIT {limit}) AS b3
  UNION ALL SELECT * FROM (
    SELECT 2 AS rank, a.contact_id, a.due_at AS due, a.id AS key, a.id AS reference_id
    FROM asks a
    WHERE a.owner_id = {owner} AND a.status = 'accepted' AND a.direction = 'incoming'
      AND a.due_at < {as_of} AND a.deleted_at IS NULL
    ORDER BY a.due_at, a.id LIMIT {limit}) AS b4
  UNION ALL SELECT * FROM (
    SELECT 3 AS rank, a.contact_id, {nudge_due} AS due, a.id AS key, a.id AS reference_id
    FROM asks a
    WHERE a.owner_id = {owner} AND a.status = 'open' AND a.direction = 'outgoing'
      AND a.created_at < {p["nudge_before"]} AND a.deleted_at IS NULL
    ORDER BY a.created_at, a.id LIMIT {limit}) AS b5
) AS f JOIN contacts n ON n.id = f.contact_id
ORDER BY f.due, f.rank, f.key LIMIT {limit}
"""


FOLLOW_UPS_SQL = _follow_ups_sql(DIALECT)
RECONNECT_TASKS_SQL = {
    "postgresql": "SELECT rule_key, id FROM etiquette_tasks WHERE owner_id = $1 "
    "AND rule_key = ANY($2::text[]) AND status = 'pending' AND deleted_at IS NULL",
    "sqlite": "SELECT rule_key, id FROM etiquette_tasks WHERE owner_id = ? "
    "AND rule_key IN (SELECT value FROM json_each(?)) AND status = 'pending' "
    "AND deleted_at IS NULL",
}[DIALECT]


async def follow_ups(request: Request, user_id: uuid.UUID) -> Response:
    limit = limit_of(request, 50, 200)
    if isinstance(limit, Response):
        return limit
    as_of = datetime.now(UTC)
    owner, nudge_before = in_uuid(user_id), in_time(as_of - timedelta(days=14))

    def keys_of(rows: list[Any]) -> dict[str, tuple[str, Any]]:
        return {
            f"rule5:{out_uuid(r[1])}:{as_time(r[2]).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}": (
                r[1],
                r[2],
            )
            for r in rows
            if r[0] == 0
        }

    if DIALECT == "postgresql":
        async with DB.pool.acquire() as conn:
            rows = list(await conn.fetch(FOLLOW_UPS_SQL, owner, as_of, limit + 1, nudge_before))
            wanted = keys_of(rows[:limit])
            found = []
            if wanted:
                found = await conn.fetch(RECONNECT_TASKS_SQL, owner, list(wanted))
    else:
        params = {"owner": owner, "as_of": in_time(as_of), "limit": limit + 1}
        params["nudge"] = nudge_before

        def read(conn: sqlite3.Connection) -> tuple[list[Any], list[Any], Any]:
            rows = conn.execute(FOLLOW_UPS_SQL, params).fetchall()
            wanted = keys_of(rows[:limit])
            found: list[Any] = []
            if wanted:
                keys = json.dumps(list(wanted))
                found = conn.execute(RECONNECT_TASKS_SQL, (owner, keys)).fetchall()
            return rows, found, wanted

        rows, found, wanted = await DB.run(read)
    tasks = {wanted[key]: task_id for key, task_id in found}
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = cursor(
            LIST_KEY,
            {
                "p": f"follow-ups:{user_id}",
                "a": as_of.isoformat(),
                "d": iso(last[2]),
                "r": last[0],
                "k": out_uuid(last[3]),
            },
        )
    items = []
    for rank, contact_id, due, _key, reference_id, name in rows:
        items.append(
            {
                "type": RANK_TYPES[rank],
                "contact_id": out_uuid(contact_id),
                "contact_name": name,
                "due_at": out_time(due),
                "days_overdue": (as_of - as_time(due)) // DAY,
                "reference_id": out_uuid(reference_id or tasks.get((contact_id, due))),
            }
        )
    return json_response(
        {"as_of": out_time(in_time(as_of)), "items": items, "next_cursor": next_cursor}
    )


# ---------------------------------------------------------------------------------------------
# Reciprocity as of now: from the sums stored on each contact (app/asks/balance.py)

_P = "$1" if DIALECT == "postgresql" else "?"
LATEST_SQL = f"SELECT max(last_resolved_at) FROM contacts WHERE owner_id = {_P}"
_MINE = f"owner_id = {_P} AND deleted_at IS NULL AND reciprocity_score IS NOT NULL"
RANKED_SQL = (
    "SELECT id, reciprocity_given, reciprocity_received, reciprocity_score FROM contacts "
    f"WHERE {_MINE} ORDER BY reciprocity_score, id LIMIT {'$2' if _P == '$1' else '?'}"
)
TOTALS_SQL = f"SELECT sum(reciprocity_given), sum(reciprocity_received) FROM contacts WHERE {_MINE}"


def balance_json(given: float, received: float) -> dict[str, Any]:
    total = given + received
    score = 0.0 if total == 0 else (given - received) / total
    if given == 0 and received == 0:
        stance = "none"
    elif score > 0.2:
        stance = "giving"
    elif score < -0.2:
        stance = "taking"
    else:
        stance = "balanced"
    return {
        "given": round(given, 6) + 0.0,
        "received": round(received, 6) + 0.0,
        "score": round(score, 6) + 0.0,
        "stance": stance,
    }


async def reciprocity(request: Request, user_id: uuid.UUID) -> Response:
    limit = limit_of(request, 50, 200)
    if isinstance(limit, Response):
        return limit
    as_of = datetime.now(UTC)
    owner = in_uuid(user_id)
    if DIALECT == "postgresql":
        async with DB.pool.acquire() as conn:
            latest = await conn.fetchval(LATEST_SQL, owner)
            rows = list(await conn.fetch(RANKED_SQL, owner, limit + 1))
            totals = await conn.fetchrow(TOTALS_SQL, owner)
    else:

        def read(conn: sqlite3.Connection) -> tuple[Any, list[Any], Any]:
            latest = conn.execute(LATEST_SQL, (owner,)).fetchone()[0]
            rows = conn.execute(RANKED_SQL, (owner, limit + 1)).fetchall()
            return latest, rows, conn.execute(TOTALS_SQL, (owner,)).fetchone()

        latest, rows, totals = await DB.run(read)
    if latest is not None and as_time(latest) > as_of:
        return problem(501, "Not Implemented", "The baseline serves reciprocity as of now only.")
    factor = float(0.5 ** (((as_of - EPOCH) / DAY) / 365))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = cursor(
            LIST_KEY,
            {
                "p": f"reciprocity:{user_id}",
                "a": as_of.isoformat(),
                "s": last[3],
                "k": out_uuid(last[0]),
            },
        )
    body = {
        "as_of": out_time(in_time(as_of)),
        "network": balance_json((totals[0] or 0.0) * factor, (totals[1] or 0.0) * factor),
        "contacts": [
            {**balance_json(r[1] * factor, r[2] * factor), "contact_id": out_uuid(r[0])}
            for r in rows
        ],
        "next_cursor": next_cursor,
    }
    return json_response(body)


# ---------------------------------------------------------------------------------------------
# Sync: the first page of a full sync (live contacts come first in the feed)

WATERMARK_SQL = {
    "postgresql": "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
    "sqlite": "SELECT coalesce((SELECT value FROM sync_clock WHERE id = 1), 0) + 1",
}[DIALECT]
SYNC_SQL = (
    f"SELECT {CONTACT_COLUMNS}, sync_seq FROM contacts WHERE owner_id = {_P} "
    f"AND sync_seq >= 0 AND deleted_at IS NULL ORDER BY sync_seq, id "
    f"LIMIT {'$2' if _P == '$1' else '?'}"
)
EMPTY: dict[str, list[Any]] = {"upserted": [], "deleted": []}


async def sync(request: Request, user_id: uuid.UUID) -> Response:
    limit = limit_of(request, 200, 1000)
    if isinstance(limit, Response):
        return limit
    if "cursor" in request.query_params:
        return problem(501, "Not Implemented", "The baseline serves first pages only.")
    now = datetime.now(UTC)
    owner = in_uuid(user_id)
    if DIALECT == "postgresql":
        async with DB.pool.acquire() as conn, conn.transaction(readonly=True):
            mark = await conn.fetchval(WATERMARK_SQL)
            rows = list(await conn.fetch(SYNC_SQL, owner, limit + 1))
    else:

        def read(conn: sqlite3.Connection) -> tuple[int, list[Any]]:
            conn.execute("BEGIN")
            try:
                mark = conn.execute(WATERMARK_SQL).fetchone()[0]
                return mark, conn.execute(SYNC_SQL, (owner, limit + 1)).fetchall()
            finally:
                conn.execute("COMMIT")

        mark, rows = await DB.run(read)
    if len(rows) <= limit:
        return problem(501, "Not Implemented", "The baseline serves pages full of contacts only.")
    rows = rows[:limit]
    last = rows[-1]
    next_cursor = cursor(
        SYNC_KEY,
        {
            "v": 1,
            "u": str(user_id),
            "l": 0,
            "m": mark,
            "t": now.isoformat(),
            "f": True,
            "a": [0, last[19], out_uuid(last[0])],
        },
    )
    body = {
        "changes": {
            "contacts": {"upserted": [contact_json(r) for r in rows], "deleted": []},
            "interactions": EMPTY,
            "asks": EMPTY,
            "etiquette_tasks": EMPTY,
        },
        "cursor": next_cursor,
        "has_more": True,
    }
    return json_response(body, headers={"Cache-Control": "no-store"})


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok"})


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    await DB.open()
    yield
    await DB.close()


app = Starlette(
    routes=[
        Route("/healthz", healthz),
        Route("/v1/contacts", authenticated(list_contacts), methods=["GET"]),
        Route("/v1/contacts", authenticated(create_contact), methods=["POST"]),
        Route("/v1/contacts/{contact_id}", authenticated(get_contact)),
        Route("/v1/follow-ups", authenticated(follow_ups)),
        Route("/v1/reciprocity", authenticated(reciprocity)),
        Route("/v1/sync", authenticated(sync)),
    ],
    lifespan=lifespan,
)
