"""Hostile input, as a corpus: every case is a 4xx problem that changes nothing and leaks nothing.

Each case is one request (method, path, raw query, headers, body bytes) sent straight to the
ASGI app, so it can carry what well-behaved clients refuse to send: CR/LF in header values,
bytes that are not UTF-8 in the body, the query string or a header, chunked bodies. For every
case the test checks that

- the status is the expected one (by default: some 4xx), never a 5xx;
- an error is `application/problem+json` with `type`, `title`, `status`, `detail`, and a 401
  carries `WWW-Authenticate`;
- the body holds no stack trace, no SQL or driver text, and nothing of Bob's (his record ids,
  his email, the words he wrote) — every case is sent by Alice, or by no one;
- no response header carries CR or LF or a header the request tried to inject;
- nothing changed: every row of every table, and both users' `GET /v1/sync`, are the same
  before and after the request.

A few hostile inputs are legitimate requests with a hostile payload (`q=%`, `q=' OR 1=1 --`,
Bob's contact id as a list filter): those answer 200 and must find nothing — a SQL wildcard is
matched literally and a filter never reaches another user's rows.

Import files (vCard/CSV bombs, bad encodings, 50 MiB uploads) have their own corpus in
`tests/transfer/test_hostile_files.py` and `tests/transfer/test_fuzz.py`.
"""

from __future__ import annotations

import base64
import json
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlmodel import SQLModel

from app.core.security import create_access_token
from tests.conftest import SECRET, sign_up

BOB_EMAIL = "bob@example.com"
ALICE_EMAIL = "alice@example.com"
PASSWORD = "correct horse battery"
# Words only Bob wrote: none of them may ever appear in an answer to Alice.
BOB_WORDS = (
    "Bobs Secretcontact",
    "bob-private-note",
    "bob-private-summary",
    "bob-private-ask",
    "bob-private-task",
    BOB_EMAIL,
)
# What an answer must never show: a stack trace, SQL, driver or ORM names, the signing key.
INTERNALS = (
    "Traceback",
    'File "',
    "SELECT ",
    "INSERT ",
    "UPDATE ",
    "DELETE FROM",
    "sqlalchemy",
    "psycopg",
    "asyncpg",
    "sqlite3",
    "Background on this error",
    "pydantic_core",
    SECRET,
)
PROBLEM = "application/problem+json"
ANY_4XX = tuple(range(400, 500))


@dataclass(frozen=True)
class Case:
    """One hostile request. Strings may hold `{placeholders}` filled from the world."""

    name: str
    method: str
    path: str
    expect: int | tuple[int, ...] = ANY_4XX
    query: str | bytes = b""  # sent as is (bytes) or with placeholders filled (str)
    json: Any = None  # encoded with json.dumps (so "\u0000" and lone surrogates are escapes)
    body: bytes | None = None  # raw body, instead of `json`
    content_type: str | None = None  # default: application/json when there is a body
    headers: tuple[tuple[str, str | bytes], ...] = ()
    auth: str = "alice"  # a key of World.auth, or "none"
    chunks: int = 1  # send the body in this many http.request messages (no Content-Length)
    empty_items: bool = False  # a 200 list answer must hold no item
    records: tuple[str, ...] = ()  # tables the request may change by design (failed sign-ins)


@dataclass
class World:
    ids: dict[str, str] = field(default_factory=dict)
    auth: dict[str, bytes] = field(default_factory=dict)
    bob_ids: set[str] = field(default_factory=set)


# --- the world: Alice and Bob, each with a contact, an interaction, an ask and tasks ---------


async def _records(client: httpx.AsyncClient, headers: dict[str, str], who: str) -> dict[str, str]:
    secret = who == "bob"
    r = await client.post(
        "/v1/contacts",
        headers=headers,
        json={
            "full_name": "Bobs Secretcontact" if secret else "Alice Friend",
            "notes": "bob-private-note" if secret else "alice note",
            "tags": ["work"],
            "email": "secret@bob.example" if secret else "friend@alice.example",
        },
    )
    assert r.status_code == 201, r.text
    contact = r.json()["id"]
    r = await client.post(
        "/v1/contacts", headers=headers, json={"full_name": f"{who} second contact"}
    )
    assert r.status_code == 201, r.text
    second = r.json()["id"]
    r = await client.post(
        "/v1/interactions",
        headers=headers,
        json={
            "contact_id": contact,
            "channel": "in_person",
            "kind": "meeting",
            "occurred_at": "2026-01-05T10:00:00Z",
            "summary": "bob-private-summary" if secret else "alice summary",
        },
    )
    assert r.status_code == 201, r.text
    interaction = r.json()["id"]
    r = await client.post(
        "/v1/asks",
        headers=headers,
        json={
            "contact_id": contact,
            "direction": "outgoing",
            "kind": "advice",
            "statement": "bob-private-ask" if secret else "alice ask",
        },
    )
    assert r.status_code == 201, r.text
    ask = r.json()["id"]
    r = await client.post(
        "/v1/etiquette-tasks",
        headers=headers,
        json={"contact_id": contact, "title": "bob-private-task" if secret else "alice task"},
    )
    assert r.status_code == 201, r.text
    task = r.json()["id"]
    return {
        "contact": contact,
        "second": second,
        "interaction": interaction,
        "ask": ask,
        "task": task,
    }


def _forged(claims: dict[str, Any], key: str, alg: str = "HS256") -> str:
    with warnings.catch_warnings():  # PyJWT warns that the test key is short for HS512
        warnings.simplefilter("ignore")
        return jwt.encode(claims, key, algorithm=alg)


def _alg_none(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


async def build_world(client: httpx.AsyncClient) -> World:
    world = World()
    alice = await sign_up(client, ALICE_EMAIL, PASSWORD)
    bob = await sign_up(client, BOB_EMAIL, PASSWORD)
    r = await client.post("/v1/auth/token", data={"username": ALICE_EMAIL, "password": PASSWORD})
    assert r.status_code == 200, r.text
    alice_refresh = r.json()["refresh_token"]
    alice_id = uuid.UUID(
        jwt.decode(alice["Authorization"][7:], options={"verify_signature": False})["sub"]
    )
    bob_id = uuid.UUID(
        jwt.decode(bob["Authorization"][7:], options={"verify_signature": False})["sub"]
    )

    for who, headers in (("alice", alice), ("bob", bob)):
        for name, value in (await _records(client, headers, who)).items():
            world.ids[f"{who}_{name}"] = value
    world.ids["alice_id"], world.ids["bob_id"] = str(alice_id), str(bob_id)

    # Bob's cursors: a contacts page, a sync feed, a follow-up page.
    r = await client.get("/v1/contacts", params={"limit": 1}, headers=bob)
    world.ids["bob_list_cursor"] = r.json()["next_cursor"]
    r = await client.get("/v1/sync", headers=bob)
    world.ids["bob_sync_cursor"] = r.json()["cursor"]
    r = await client.get(
        "/v1/follow-ups", params={"limit": 1, "as_of": "2026-11-01T00:00:00Z"}, headers=bob
    )
    world.ids["bob_follow_up_cursor"] = r.json()["next_cursor"]
    r = await client.get("/v1/contacts", params={"limit": 1}, headers=alice)
    world.ids["alice_list_cursor"] = r.json()["next_cursor"]
    r = await client.get("/v1/sync", headers=alice)
    world.ids["alice_sync_cursor"] = r.json()["cursor"]
    assert all(world.ids.values()), world.ids

    world.bob_ids = {v for k, v in world.ids.items() if k.startswith("bob_") and "cursor" not in k}
    now = datetime.now(UTC)
    claims = {
        "sub": str(alice_id),
        "typ": "access",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    world.auth = {
        "alice": alice["Authorization"].encode(),
        "bob": bob["Authorization"].encode(),
        "other_key": b"Bearer "
        + create_access_token(
            alice_id, "another-key-" + "y" * 40, now, timedelta(minutes=5)
        ).encode(),
        "expired": b"Bearer "
        + create_access_token(
            alice_id, SECRET, now - timedelta(hours=2), timedelta(minutes=15)
        ).encode(),
        "alg_none": b"Bearer " + _alg_none(claims).encode(),
        "hs512": b"Bearer " + _forged(claims, SECRET, "HS512").encode(),
        "no_typ": b"Bearer "
        + _forged({k: v for k, v in claims.items() if k != "typ"}, SECRET).encode(),
        "refresh_typ": b"Bearer " + _forged({**claims, "typ": "refresh"}, SECRET).encode(),
        "no_exp": b"Bearer "
        + _forged({k: v for k, v in claims.items() if k != "exp"}, SECRET).encode(),
        "sub_not_uuid": b"Bearer " + _forged({**claims, "sub": "' OR 1=1 --"}, SECRET).encode(),
        "bob_sub_other_key": b"Bearer "
        + create_access_token(
            bob_id, "another-key-" + "y" * 40, now, timedelta(minutes=5)
        ).encode(),
        "refresh_as_access": b"Bearer " + alice_refresh.encode(),
        "garbage": b"Bearer not-a-token",
        "empty_bearer": b"Bearer ",
        "basic": b"Basic " + base64.b64encode(f"{ALICE_EMAIL}:{PASSWORD}".encode()),
        "token_no_scheme": alice["Authorization"][7:].encode(),
        "huge": b"Bearer " + b"a" * 100_000,
        "crlf": alice["Authorization"].encode() + b"\r\nX-Injected: 1",
        "invalid_utf8": b"Bearer \xff\xfe\xfd",
        "nul": b"Bearer abc\x00def",
    }
    return world


# --- sending a case ------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.decode("latin-1").lower() == name:
                return value.decode("latin-1")
        return None


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids) if "{" in value and "}" in value else value
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


async def send(app: FastAPI, case: Case, world: World) -> Answer:
    path = case.path.format(**world.ids)
    query = case.query if isinstance(case.query, bytes) else case.query.format(**world.ids).encode()
    body = case.body
    if body is None and case.json is not None:
        body = json.dumps(_fill(case.json, world.ids)).encode()
    headers: list[tuple[bytes, bytes]] = [(b"host", b"rapport.test")]
    if case.auth != "none":
        headers.append((b"authorization", world.auth[case.auth]))
    if body is not None:
        headers.append((b"content-type", (case.content_type or "application/json").encode()))
        if case.chunks == 1:
            headers.append((b"content-length", str(len(body)).encode()))
    for name, value in case.headers:
        raw = value if isinstance(value, bytes) else value.format(**world.ids).encode()
        headers.append((name.lower().encode(), raw))

    messages: list[dict[str, Any]] = []
    data = body or b""
    size = max(1, -(-len(data) // case.chunks))
    pieces = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
    for i, piece in enumerate(pieces):
        messages.append({"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1})

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": case.method,
        "scheme": "http",
        # As uvicorn does: the path percent-decoded (bad UTF-8 becomes U+FFFD), raw_path kept.
        "path": unquote(path),
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": headers,
        "client": ("203.0.113.7", 40000),
        "server": ("rapport.test", 80),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        return {"type": "http.disconnect"}

    async def send_(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send_)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(start["status"], list(start.get("headers", [])), content)


# --- what must not change ------------------------------------------------------------------


async def table_rows(app: FastAPI) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table."""
    db = app.state.runtime.db
    tables = {}
    async with db.reader.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows = (await conn.execute(select(table).order_by(*order))).all()
            tables[table.name] = [tuple(row) for row in rows]
    # SQLite's sync clock moves with every committed write transaction, and an Idempotency-Key
    # is reserved (then released) in one of its own before the request is validated: the clock
    # moving shows nothing to anyone, so it is left out.
    tables.pop("sync_clock", None)
    return tables


async def feeds(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    """What each user's sync feed shows."""
    feeds = {}
    for who in ("alice", "bob"):
        auth = world.auth[who].decode()
        r = await client.get("/v1/sync", params={"limit": 1000}, headers={"Authorization": auth})
        assert r.status_code == 200, r.text
        feeds[who] = r.json()["changes"]
    return feeds


def check(case: Case, answer: Answer, world: World) -> list[str]:
    """What is wrong with an answer (empty: nothing)."""
    problems: list[str] = []
    expected = (case.expect,) if isinstance(case.expect, int) else case.expect
    if answer.status not in expected:
        problems.append(f"status {answer.status}, expected {case.expect}: {answer.body[:300]!r}")
    text = answer.body.decode("utf-8", "replace")
    for marker in INTERNALS:
        if marker in text:
            problems.append(f"answer shows internals ({marker!r}): {text[:300]}")
    for secret in (*BOB_WORDS, *world.bob_ids):
        if secret in text:
            problems.append(f"answer leaks Bob's data ({secret!r}): {text[:300]}")
    for name, value in answer.headers:
        if b"\r" in value or b"\n" in value or name.lower() == b"x-injected":
            problems.append(f"injected response header {name!r}: {value!r}")
    if answer.status >= 400:
        if answer.header("content-type") != PROBLEM:
            problems.append(f"error is {answer.header('content-type')}, not {PROBLEM}")
        try:
            problem = json.loads(answer.body)
        except ValueError:
            problems.append(f"error body is not JSON: {answer.body[:200]!r}")
        else:
            missing = {"type", "title", "status", "detail"} - set(problem)
            if missing or problem.get("status") != answer.status:
                problems.append(f"not a problem document: {problem}")
        if answer.status == 401 and not (answer.header("www-authenticate") or "").startswith(
            "Bearer"
        ):
            problems.append("401 without a Bearer challenge")
    elif case.empty_items:
        items = json.loads(answer.body).get("items")
        if items != []:
            problems.append(f"expected no items, got {items}")
    return problems


async def run_corpus(app: FastAPI, client: httpx.AsyncClient, cases: list[Case]) -> None:
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    world = await build_world(client)
    failures: list[str] = []
    feeds_before = await feeds(client, world)
    before = await table_rows(app)
    for case in cases:
        answer = await send(app, case, world)
        wrong = check(case, answer, world)
        after = await table_rows(app)
        changed = [t for t in before if before[t] != after[t]]
        if set(changed) - set(case.records):
            wrong.append(f"the request changed stored data (tables {changed})")
        before = after
        failures += [f"{case.name} ({case.method} {case.path}): {w}" for w in wrong]
    # The same, as the API shows it: each user's records, through the sync feed.
    if await feeds(client, world) != feeds_before:
        failures.append("the sync feeds differ after the corpus")
    assert not failures, "\n".join(failures)


# --- the corpus ----------------------------------------------------------------------------

CONTACT = {"full_name": "Hostile Test"}
INTERACTION = {
    "contact_id": "{alice_contact}",
    "channel": "email",
    "occurred_at": "2026-03-01T10:00:00Z",
}
ASK = {
    "contact_id": "{alice_contact}",
    "direction": "outgoing",
    "kind": "advice",
    "statement": "Could you advise me?",
}
TASK = {"contact_id": "{alice_contact}", "title": "Send the article"}

# Every body that creates or changes something, as (name, method, path, a valid body).
WRITES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("contact-create", "POST", "/v1/contacts", CONTACT),
    ("contact-patch", "PATCH", "/v1/contacts/{alice_contact}", {"notes": "n"}),
    ("interaction-create", "POST", "/v1/interactions", INTERACTION),
    ("interaction-patch", "PATCH", "/v1/interactions/{alice_interaction}", {"summary": "s"}),
    ("ask-create", "POST", "/v1/asks", ASK),
    ("ask-patch", "PATCH", "/v1/asks/{alice_ask}", {"statement": "s"}),
    ("task-create", "POST", "/v1/etiquette-tasks", TASK),
    ("task-patch", "PATCH", "/v1/etiquette-tasks/{alice_task}", {"title": "t"}),
    ("me-patch", "PATCH", "/v1/me", {"display_name": "A"}),
]


def _nest(depth: int) -> str:
    return "[" * depth + "]" * depth


def body_cases() -> list[Case]:
    """Deep nesting, giant arrays, 10k tags, bodies over the limit, malformed JSON."""
    deep = _nest(10_000).encode()
    cases: list[Case] = []
    for name, method, path, valid in WRITES:
        cases += [
            Case(f"{name}-nested-10k", method, path, 422, body=deep),
            Case(
                f"{name}-nested-10k-in-a-field",
                method,
                path,
                422,
                body=json.dumps(valid)[:-1].encode() + b', "x": ' + deep + b"}",
            ),
            Case(
                f"{name}-array-100k",
                method,
                path,
                422,
                body=json.dumps(list(range(100_000))).encode(),
            ),
            Case(f"{name}-null", method, path, 422, body=b"null"),
            Case(f"{name}-string", method, path, 422, body=b'"hello"'),
            Case(f"{name}-truncated", method, path, 422, body=json.dumps(valid)[:-3].encode()),
            Case(
                f"{name}-trailing-garbage",
                method,
                path,
                422,
                body=json.dumps(valid).encode() + b"}}",
            ),
            Case(
                f"{name}-invalid-utf8",
                method,
                path,
                422,
                body=json.dumps(valid).encode()[:-1] + b', "x": "\xff\xfe\xc0\x80"}',
            ),
            Case(f"{name}-over-1mib", method, path, 413, json={**valid, "x": "a" * (1024 * 1024)}),
            Case(
                f"{name}-over-1mib-chunked",
                method,
                path,
                413,
                json={**valid, "x": "a" * (1024 * 1024)},
                chunks=40,
            ),
            Case(f"{name}-text-plain", method, path, 415, json=valid, content_type="text/plain"),
            Case(
                f"{name}-unknown-field", method, path, 422, json={**valid, "owner_id": "{bob_id}"}
            ),
            Case(
                f"{name}-huge-integer",
                method,
                path,
                422,
                body=json.dumps(valid)[:-1].encode() + b', "x": ' + b"9" * 5000 + b"}",
            ),
        ]
    cases += [
        Case(
            "tags-10k",
            "POST",
            "/v1/contacts",
            422,
            json={**CONTACT, "tags": [f"t{i}" for i in range(10_000)]},
        ),
        Case("tags-100k", "POST", "/v1/contacts", 422, json={**CONTACT, "tags": ["t"] * 100_000}),
        Case(
            "tags-51",
            "POST",
            "/v1/contacts",
            422,
            json={**CONTACT, "tags": [f"t{i}" for i in range(51)]},
        ),
        Case(
            "tags-10k-patch",
            "PATCH",
            "/v1/contacts/{alice_contact}",
            422,
            json={"tags": [f"t{i}" for i in range(10_000)]},
        ),
        Case("tag-too-long", "POST", "/v1/contacts", 422, json={**CONTACT, "tags": ["t" * 51]}),
        Case("tags-nested", "POST", "/v1/contacts", 422, json={**CONTACT, "tags": [["a"]]}),
        Case(
            "open-to-100k",
            "POST",
            "/v1/contacts",
            422,
            json={**CONTACT, "open_to": ["advice"] * 100_000},
        ),
        Case(
            "notes-too-long", "POST", "/v1/contacts", 422, json={**CONTACT, "notes": "n" * 10_001}
        ),
        Case(
            "cadence-nan",
            "POST",
            "/v1/contacts",
            422,
            body=b'{"full_name": "x", "cadence_days": NaN}',
        ),
        Case(
            "cadence-infinity",
            "POST",
            "/v1/contacts",
            422,
            body=b'{"full_name": "x", "cadence_days": Infinity}',
        ),
        Case(
            "cadence-1e400",
            "POST",
            "/v1/contacts",
            422,
            body=b'{"full_name": "x", "cadence_days": 1e400}',
        ),
        Case("cadence-2-63", "POST", "/v1/contacts", 422, json={**CONTACT, "cadence_days": 2**63}),
        Case("cadence-negative", "POST", "/v1/contacts", 422, json={**CONTACT, "cadence_days": -1}),
        Case("effort-float", "POST", "/v1/asks", 422, json={**ASK, "effort": 3.0}),
        Case("effort-2-64", "POST", "/v1/asks", 422, json={**ASK, "effort": 2**64}),
        Case("register-nested", "POST", "/v1/auth/register", 422, auth="none", body=deep),
        Case("refresh-nested", "POST", "/v1/auth/refresh", 422, auth="none", body=deep),
        Case("run-nested", "POST", "/v1/scheduler/run", 422, body=deep),
        Case(
            "run-array-100k",
            "POST",
            "/v1/scheduler/run",
            422,
            body=json.dumps(list(range(100_000))).encode(),
        ),
        Case("run-over-1mib", "POST", "/v1/scheduler/run", 413, json={"x": "a" * (1024 * 1024)}),
        Case(
            "token-over-1mib",
            "POST",
            "/v1/auth/token",
            413,
            auth="none",
            body=b"username=a&password=" + b"a" * (1024 * 1024),
            content_type="application/x-www-form-urlencoded",
        ),
        # Read as U+FFFD: an unknown account, whose failed sign-in is recorded for throttling.
        Case(
            "token-form-invalid-utf8",
            "POST",
            "/v1/auth/token",
            401,
            auth="none",
            body=b"username=%FF%FE&password=\xff\xfe",
            records=("login_failures",),
            content_type="application/x-www-form-urlencoded",
        ),
        Case(
            "token-form-10k-fields",
            "POST",
            "/v1/auth/token",
            400,
            auth="none",
            body=b"&".join(b"f%d=1" % i for i in range(10_000)),
            content_type="application/x-www-form-urlencoded",
        ),
    ]
    return cases


NUL = "a\u0000b"
SURROGATE = "a\ud800b"
# Every free-text field of every body, as (name, method, path, body without the field, field).
TEXT_FIELDS: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("contact-name", "POST", "/v1/contacts", {}, "full_name"),
    ("contact-notes", "POST", "/v1/contacts", CONTACT, "notes"),
    ("contact-email", "POST", "/v1/contacts", CONTACT, "email"),
    ("contact-how-met", "POST", "/v1/contacts", CONTACT, "how_met"),
    ("contact-patch-name", "PATCH", "/v1/contacts/{alice_contact}", {}, "full_name"),
    ("contact-patch-phone", "PATCH", "/v1/contacts/{alice_contact}", {}, "phone"),
    ("interaction-summary", "POST", "/v1/interactions", INTERACTION, "summary"),
    (
        "interaction-patch-objective",
        "PATCH",
        "/v1/interactions/{alice_interaction}",
        {},
        "objective",
    ),
    (
        "ask-statement",
        "POST",
        "/v1/asks",
        {k: v for k, v in ASK.items() if k != "statement"},
        "statement",
    ),
    ("ask-patch-statement", "PATCH", "/v1/asks/{alice_ask}", {}, "statement"),
    ("task-title", "POST", "/v1/etiquette-tasks", {"contact_id": "{alice_contact}"}, "title"),
    ("task-patch-title", "PATCH", "/v1/etiquette-tasks/{alice_task}", {}, "title"),
    ("me-display-name", "PATCH", "/v1/me", {}, "display_name"),
    ("me-timezone", "PATCH", "/v1/me", {}, "timezone"),
    ("me-email", "PATCH", "/v1/me", {}, "email"),
    ("refresh-token", "POST", "/v1/auth/refresh", {}, "refresh_token"),
]


def string_cases() -> list[Case]:
    """NUL (PostgreSQL text cannot hold it), lone surrogates, NUL and surrogates in keys."""
    cases: list[Case] = []
    for name, method, path, base, key in TEXT_FIELDS:
        auth = "none" if path.startswith("/v1/auth") else "alice"
        expect = (401, 422) if key == "refresh_token" else 422
        cases += [
            Case(f"{name}-nul", method, path, expect, json={**base, key: NUL}, auth=auth),
            Case(
                f"{name}-surrogate", method, path, expect, json={**base, key: SURROGATE}, auth=auth
            ),
            Case(f"{name}-only-nul", method, path, expect, json={**base, key: "\u0000"}, auth=auth),
        ]
    cases += [
        Case("tag-nul", "POST", "/v1/contacts", 422, json={**CONTACT, "tags": [NUL]}),
        Case("tag-surrogate", "POST", "/v1/contacts", 422, json={**CONTACT, "tags": [SURROGATE]}),
        Case("key-surrogate", "POST", "/v1/contacts", 422, json={**CONTACT, SURROGATE: 1}),
        Case("key-nul", "POST", "/v1/contacts", 422, json={**CONTACT, NUL: 1}),
        Case(
            "key-surrogate-patch", "PATCH", "/v1/contacts/{alice_contact}", 422, json={SURROGATE: 1}
        ),
        Case("enum-nul", "POST", "/v1/contacts", 422, json={**CONTACT, "circle": "friend\u0000"}),
        Case(
            "enum-surrogate",
            "POST",
            "/v1/interactions",
            422,
            json={**INTERACTION, "channel": SURROGATE},
        ),
        Case(
            "id-nul",
            "POST",
            "/v1/interactions",
            422,
            json={**INTERACTION, "contact_id": "{alice_contact}\u0000"},
        ),
        Case(
            "date-nul",
            "POST",
            "/v1/interactions",
            422,
            json={**INTERACTION, "occurred_at": "2026-03-01T10:00:00Z\u0000"},
        ),
        Case(
            "register-email-nul",
            "POST",
            "/v1/auth/register",
            422,
            auth="none",
            json={"email": "eve\u0000@example.com", "password": PASSWORD},
        ),
        Case(
            "register-name-nul",
            "POST",
            "/v1/auth/register",
            422,
            auth="none",
            json={"email": "eve@example.com", "password": PASSWORD, "display_name": NUL},
        ),
        Case(
            "register-name-surrogate",
            "POST",
            "/v1/auth/register",
            422,
            auth="none",
            json={"email": "eve@example.com", "password": PASSWORD, "display_name": SURROGATE},
        ),
        Case(
            "register-password-surrogate",
            "POST",
            "/v1/auth/register",
            422,
            auth="none",
            json={"email": "eve@example.com", "password": "p" * 8 + "\ud800"},
        ),
        Case(
            "login-username-nul",
            "POST",
            "/v1/auth/token",
            422,
            auth="none",
            body=b"username=alice%40example.com%00&password=x",
            content_type="application/x-www-form-urlencoded",
        ),
        Case(
            "string-1mib-minus",
            "POST",
            "/v1/contacts",
            422,
            json={"full_name": "x" * (1024 * 1024 - 100)},
        ),
    ]
    return cases


def query_cases() -> list[Case]:
    """Limits, repeated parameters, SQL wildcards and injection strings, bad bytes."""
    lists = [
        "/v1/contacts",
        "/v1/interactions",
        "/v1/asks",
        "/v1/etiquette-tasks",
        "/v1/follow-ups",
        "/v1/reciprocity",
    ]
    cases: list[Case] = []
    for path in [*lists, "/v1/sync"]:
        short = path.rsplit("/", 1)[1]
        own = "alice_sync_cursor" if short == "sync" else "alice_list_cursor"
        for value in ["-1", "0", str(10**20), "1e3", "1.5", "abc", "", "%00", "1%00", "100001"]:
            cases.append(Case(f"{short}-limit={value}", "GET", path, 422, query=f"limit={value}"))
        cases += [
            Case(f"{short}-limit-repeated", "GET", path, 422, query="limit=1&limit=2"),
            Case(f"{short}-cursor-garbage", "GET", path, 400, query="cursor=abc.def"),
            Case(f"{short}-cursor-10k", "GET", path, 400, query="cursor=" + "a" * 10_000),
            Case(f"{short}-cursor-nul", "GET", path, 400, query="cursor=a%00b.c"),
            Case(f"{short}-cursor-invalid-utf8", "GET", path, 400, query=b"cursor=\xff\xfe.\xff"),
            Case(
                f"{short}-cursor-repeated",
                "GET",
                path,
                422,
                query=f"cursor={{{own}}}&cursor={{{own}}}",
            ),
        ]
    # `q` and `tag` are matched literally: wildcards and injection strings find nothing.
    for i, value in enumerate(
        [
            "%",
            "_",
            "%%",
            "\\",
            "\\%",
            "' OR 1=1 --",
            "' OR '1'='1",
            '"; DROP TABLE contacts; --',
            "*",
            "[a-z]",
            ".*",
            "%_%",
            "') OR ('a'='a",
            "1; SELECT pg_sleep(5)",
        ]
    ):
        for param in ("q", "tag"):
            cases.append(
                Case(
                    f"contacts-{param}-literal-{i}",
                    "GET",
                    "/v1/contacts",
                    200,
                    query=f"{param}={quote(value, safe='')}",
                    empty_items=True,
                )
            )
    cases += [
        Case("q-10k", "GET", "/v1/contacts", 422, query="q=" + "a" * 10_000),
        Case("q-nul", "GET", "/v1/contacts", 422, query="q=a%00b"),
        Case("query-tag-nul", "GET", "/v1/contacts", 422, query="tag=a%00b"),
        Case(
            "q-invalid-utf8-raw", "GET", "/v1/contacts", 200, query=b"q=\xff\xfe", empty_items=True
        ),
        Case(
            "q-invalid-utf8-escaped",
            "GET",
            "/v1/contacts",
            200,
            query="q=%FF%FE%C0%80",
            empty_items=True,
        ),
        Case(
            "q-surrogate-escaped", "GET", "/v1/contacts", 200, query="q=%ED%A0%80", empty_items=True
        ),
        Case("q-repeated", "GET", "/v1/contacts", 422, query="q=Alice&q=%25"),
        Case("circle-unknown", "GET", "/v1/contacts", 422, query="circle=admin"),
        Case("circle-repeated", "GET", "/v1/contacts", 422, query="circle=friend&circle=other"),
        Case(
            "contact-id-malformed", "GET", "/v1/interactions", 422, query="contact_id=1%20OR%201=1"
        ),
        Case(
            "contact-id-repeated",
            "GET",
            "/v1/interactions",
            422,
            query="contact_id={alice_contact}&contact_id={bob_contact}",
        ),
        Case("status-unknown", "GET", "/v1/asks", 422, query="status=%25"),
        Case("export-format-unknown", "GET", "/v1/contacts/export", 422, query="format=exe"),
        Case(
            "export-format-repeated",
            "GET",
            "/v1/contacts/export",
            422,
            query="format=csv&format=vcf",
        ),
        Case(
            "as-of-repeated",
            "GET",
            "/v1/follow-ups",
            422,
            query="as_of=2026-01-01T00:00:00Z&as_of=2026-02-01T00:00:00Z",
        ),
        Case("path-invalid-utf8", "GET", "/v1/contacts/%FF%FE", 422),
        Case("path-sql", "GET", "/v1/contacts/1'%20OR%20'1'='1", 422),
        Case("path-nul", "GET", "/v1/contacts/%00", 422),
        Case("path-traversal", "GET", "/v1/contacts/..%2F..%2Fetc%2Fpasswd", (404, 422)),
        Case("path-uuid-with-nul", "GET", "/v1/contacts/{alice_contact}%00", 422),
        Case("path-huge", "GET", "/v1/contacts/" + "a" * 10_000, 422),
        Case(
            "calendar-feed-injection", "GET", "/v1/calendar/'%20OR%201=1%20--.ics", 404, auth="none"
        ),
        Case("calendar-feed-nul", "GET", "/v1/calendar/a%00b.ics", 404, auth="none"),
        Case("calendar-feed-invalid-utf8", "GET", "/v1/calendar/%FF%FE.ics", 404, auth="none"),
        Case(
            "calendar-feed-huge", "GET", "/v1/calendar/" + "a" * 10_000 + ".ics", 404, auth="none"
        ),
        Case("method-options", "OPTIONS", "/v1/contacts", 405),
        Case("method-trace", "TRACE", "/v1/contacts/{alice_contact}", 405),
        Case("method-connect", "CONNECT", "/v1/me", 405),
        Case("method-put-me", "PUT", "/v1/me", 405, json={"display_name": "x"}),
        Case("unknown-route", "GET", "/v1/admin", 404),
        Case("unknown-route-sql", "GET", "/v1/contacts%27%20OR%201=1--/x/y", 404),
        Case(
            "register-email-10k",
            "POST",
            "/v1/auth/register",
            422,
            auth="none",
            json={"email": "a" * 10_000 + "@example.com", "password": PASSWORD},
        ),
        Case(
            "register-password-257",
            "POST",
            "/v1/auth/register",
            422,
            auth="none",
            json={"email": "eve@example.com", "password": "p" * 257},
        ),
        Case(
            "register-timezone-path",
            "POST",
            "/v1/auth/register",
            422,
            auth="none",
            json={
                "email": "eve@example.com",
                "password": PASSWORD,
                "timezone": "../../../etc/passwd",
            },
        ),
        Case(
            "register-existing-email-upper",
            "POST",
            "/v1/auth/register",
            409,
            auth="none",
            json={"email": "BOB@EXAMPLE.COM", "password": PASSWORD},
        ),
        Case(
            "login-username-10k",
            "POST",
            "/v1/auth/token",
            422,
            auth="none",
            body=b"username=" + b"a" * 10_000 + b"&password=x",
            content_type="application/x-www-form-urlencoded",
        ),
        Case(
            "refresh-token-10k",
            "POST",
            "/v1/auth/refresh",
            (401, 422),
            auth="none",
            json={"refresh_token": "a" * 10_000},
        ),
    ]
    return cases


DATES = {
    "year-0": "0000-01-01T00:00:00Z",
    "year-1": "0001-01-01T00:00:00Z",
    "year-1899": "1899-12-31T23:59:59Z",
    "year-1900-before-utc": "1900-01-01T00:30:00+01:00",
    "year-9999": "9999-12-31T23:59:59Z",
    "year-9999-west": "9999-12-31T23:00:00-05:00",
    "year-10000": "10000-01-01T00:00:00Z",
    "negative-year": "-0001-01-01T00:00:00Z",
    "no-offset": "2026-11-27T10:00:00",
    "offset-25h": "2026-11-27T10:00:00+25:00",
    "february-30": "2026-02-30T10:00:00Z",
    "hour-24": "2026-11-27T24:00:00Z",
    "date-only": "2026-11-27",
    "unix-seconds": "1764237600",
    "garbage": "yesterday",
}
# Every time a client sends, in a body: (name, method, path, body without the field, field).
BODY_TIMES: list[tuple[str, str, str, dict[str, Any], str]] = [
    (
        "interaction-occurred-at",
        "POST",
        "/v1/interactions",
        {k: v for k, v in INTERACTION.items() if k != "occurred_at"},
        "occurred_at",
    ),
    (
        "interaction-patch-occurred-at",
        "PATCH",
        "/v1/interactions/{alice_interaction}",
        {},
        "occurred_at",
    ),
    ("ask-due-at", "POST", "/v1/asks", ASK, "due_at"),
    ("ask-patch-due-at", "PATCH", "/v1/asks/{alice_ask}", {}, "due_at"),
    ("task-due-at", "POST", "/v1/etiquette-tasks", TASK, "due_at"),
    ("task-patch-due-at", "PATCH", "/v1/etiquette-tasks/{alice_task}", {}, "due_at"),
    ("contact-snoozed-until", "POST", "/v1/contacts", CONTACT, "snoozed_until"),
    ("contact-patch-snoozed-until", "PATCH", "/v1/contacts/{alice_contact}", {}, "snoozed_until"),
    ("run-as-of", "POST", "/v1/scheduler/run", {}, "as_of"),
]
# And in a query: (path, parameter).
QUERY_TIMES = [
    ("/v1/contacts", "updated_since"),
    ("/v1/interactions", "occurred_after"),
    ("/v1/interactions", "occurred_before"),
    ("/v1/etiquette-tasks", "due_before"),
    ("/v1/follow-ups", "as_of"),
    ("/v1/reciprocity", "as_of"),
    ("/v1/contacts/{alice_contact}/reciprocity", "as_of"),
]


def date_cases() -> list[Case]:
    cases: list[Case] = []
    for label, value in DATES.items():
        for name, method, path, base, key in BODY_TIMES:
            cases.append(Case(f"{name}-{label}", method, path, 422, json={**base, key: value}))
        for path, param in QUERY_TIMES:
            cases.append(
                Case(
                    f"{path}?{param}-{label}",
                    "GET",
                    path,
                    422,
                    query=f"{param}={quote(value, safe='')}",
                )
            )
    for name, method, path, base, key in BODY_TIMES:
        for label, value in {
            "number": 1764237600,
            "float-inf": 1e400,
            "bool": True,
            "object": {"$date": 1},
        }.items():
            cases.append(Case(f"{name}-{label}", method, path, 422, json={**base, key: value}))
    return cases


def header_cases() -> list[Case]:
    """CR/LF and other bytes in header values; huge and malformed Idempotency-Keys."""
    cases: list[Case] = []
    keys = {
        "crlf": b"key\r\nX-Injected: 1",
        "lf": b"key\nX-Injected: 1",
        "nul": b"key\x00",
        "invalid-utf8": b"key-\xff\xfe",
        "latin1": "clé".encode("latin-1"),
        "huge": b"k" * 10_000,
        "256": b"k" * 256,
        "empty": b"",
        "space-first": b" key",
        "tab": b"key\tvalue",
    }
    for name, method, path, valid in WRITES:
        if method != "POST":
            continue
        for label, key in keys.items():
            cases.append(
                Case(
                    f"{name}-idempotency-key-{label}",
                    method,
                    path,
                    422,
                    json={**valid, "x": 1},
                    headers=(("Idempotency-Key", key),),
                )
            )
    # The key must not be remembered when validation refuses the body either.
    cases.append(
        Case(
            "contact-create-idempotency-key-then-invalid",
            "POST",
            "/v1/contacts",
            422,
            json={"full_name": ""},
            headers=(("Idempotency-Key", "k-1"),),
        )
    )
    for path in [
        "/v1/contacts/{alice_contact}",
        "/v1/interactions/{alice_interaction}",
        "/v1/asks/{alice_ask}",
        "/v1/etiquette-tasks/{alice_task}",
    ]:
        short = path.split("/")[2]
        body = (
            {"title": "t"}
            if "tasks" in path
            else {"full_name": "x"}
            if "contacts" in path
            else ({"summary": "s"} if "interactions" in path else {"statement": "s"})
        )
        for label, value in {
            "crlf": b'"999"\r\nX-Injected: 1',
            "lf": b'"999"\nX-Injected: 1',
            "nul": b'"999"\x00',
            "invalid-utf8": b'"\xff\xfe"',
            "huge": b", ".join([b'"999"'] * 20_000),
            "sql": b"' OR 1=1 --",
            "crlf-after-current": b'"1"\r\nX-Injected: 1',
        }.items():
            cases += [
                Case(
                    f"{short}-patch-if-match-{label}",
                    "PATCH",
                    path,
                    412,
                    json=body,
                    headers=(("If-Match", value),),
                ),
                Case(
                    f"{short}-delete-if-match-{label}",
                    "DELETE",
                    path,
                    412,
                    headers=(("If-Match", value),),
                ),
            ]
    cases += [
        Case(
            "content-type-crlf",
            "POST",
            "/v1/contacts",
            415,
            json=CONTACT,
            content_type="text/plain\r\nX-Injected: 1",
        ),
        Case(
            "content-type-invalid-utf8",
            "POST",
            "/v1/contacts",
            415,
            json=CONTACT,
            content_type="application/\xffjson",
        ),
        Case(
            "content-length-lies-big",
            "POST",
            "/v1/contacts",
            413,
            json=CONTACT,
            headers=(("Content-Length", str(10**12)),),
        ),
        Case(
            "me-patch-if-match-crlf",
            "PATCH",
            "/v1/me",
            412,
            json={"display_name": "x"},
            headers=(("If-Match", b'"9"\r\nX-Injected: 1'),),
        ),
    ]
    return cases


# Endpoints a bad token is tried on (each needs a valid user token).
AUTHENTICATED: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/me", None),
    ("PATCH", "/v1/me", {"display_name": "Mallory"}),
    ("GET", "/v1/contacts", None),
    ("POST", "/v1/contacts", CONTACT),
    ("GET", "/v1/contacts/{alice_contact}", None),
    ("PATCH", "/v1/contacts/{alice_contact}", {"notes": "x"}),
    ("DELETE", "/v1/contacts/{alice_contact}", None),
    ("POST", "/v1/interactions", INTERACTION),
    ("DELETE", "/v1/asks/{alice_ask}", None),
    ("PATCH", "/v1/etiquette-tasks/{alice_task}", {"status": "done"}),
    ("GET", "/v1/sync", None),
    ("GET", "/v1/follow-ups", None),
    ("GET", "/v1/reciprocity", None),
    ("POST", "/v1/scheduler/run", {}),
    ("POST", "/v1/me/calendar-token", None),
    ("DELETE", "/v1/me/calendar-token", None),
    ("GET", "/v1/contacts/export", None),
]
BAD_TOKENS = [
    "none",
    "other_key",
    "expired",
    "alg_none",
    "hs512",
    "no_typ",
    "refresh_typ",
    "no_exp",
    "sub_not_uuid",
    "bob_sub_other_key",
    "refresh_as_access",
    "garbage",
    "empty_bearer",
    "basic",
    "token_no_scheme",
    "huge",
    "crlf",
    "invalid_utf8",
    "nul",
]


# Tokens tried on every endpoint above; the others on a sample of reads and writes.
EVERYWHERE = {"none", "other_key", "expired", "alg_none", "refresh_as_access", "garbage"}
SAMPLE = {"/v1/contacts", "/v1/contacts/{alice_contact}", "/v1/sync", "/v1/scheduler/run"}


def token_cases() -> list[Case]:
    cases: list[Case] = []
    for token in BAD_TOKENS:
        for method, path, body in AUTHENTICATED:
            if token not in EVERYWHERE and path not in SAMPLE:
                continue
            query = "format=csv" if path.endswith("export") else ""
            cases.append(
                Case(
                    f"{token}-{method}-{path}",
                    method,
                    path,
                    401,
                    json=body,
                    query=query,
                    auth=token,
                )
            )
        boundary = "b0undary"
        upload = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="c.vcf"\r\nContent-Type: text/vcard\r\n\r\nBEGIN:VCARD\r\n'
            f"VERSION:3.0\r\nFN:Mallory\r\nEND:VCARD\r\n\r\n--{boundary}--\r\n"
        ).encode()
        cases.append(
            Case(
                f"{token}-import",
                "POST",
                "/v1/contacts/import",
                401,
                body=upload,
                content_type=f"multipart/form-data; boundary={boundary}",
                auth=token,
            )
        )
    return cases


def ownership_cases() -> list[Case]:
    """Bob's ids wherever Alice may put an id: paths, bodies, filters, and his cursors."""
    cases: list[Case] = []
    for kind, path in [
        ("contact", "/v1/contacts"),
        ("interaction", "/v1/interactions"),
        ("ask", "/v1/asks"),
        ("task", "/v1/etiquette-tasks"),
    ]:
        record = f"{path}/{{bob_{kind}}}"
        body = {
            "contact": {"full_name": "Mallory"},
            "interaction": {"summary": "x"},
            "ask": {"status": "withdrawn"},
            "task": {"status": "done"},
        }[kind]
        cases += [
            Case(f"bob-{kind}-get", "GET", record, 404),
            Case(f"bob-{kind}-patch", "PATCH", record, 404, json=body),
            Case(
                f"bob-{kind}-patch-if-match-star",
                "PATCH",
                record,
                404,
                json=body,
                headers=(("If-Match", "*"),),
            ),
            Case(f"bob-{kind}-delete", "DELETE", record, 404),
            Case(
                f"bob-{kind}-delete-if-match", "DELETE", record, 404, headers=(("If-Match", '"1"'),)
            ),
            Case(f"bob-{kind}-put", "PUT", record, 405, json=body),
        ]
    for name, path, valid in [
        ("interaction", "/v1/interactions", INTERACTION),
        ("ask", "/v1/asks", ASK),
        ("task", "/v1/etiquette-tasks", TASK),
    ]:
        cases += [
            Case(
                f"{name}-create-for-bobs-contact",
                "POST",
                path,
                422,
                json={**valid, "contact_id": "{bob_contact}"},
            ),
            Case(
                f"{name}-create-with-bobs-owner",
                "POST",
                path,
                422,
                json={**valid, "owner_id": "{bob_id}"},
            ),
            Case(
                f"{name}-create-with-bobs-id",
                "POST",
                path,
                422,
                json={**valid, "id": "{bob_" + name + "}"},
            ),
            Case(
                f"{name}-filter-bobs-contact",
                "GET",
                path,
                200,
                query="contact_id={bob_contact}",
                empty_items=True,
            ),
        ]
    cases += [
        Case(
            "task-create-with-bobs-interaction",
            "POST",
            "/v1/etiquette-tasks",
            422,
            json={**TASK, "interaction_id": "{bob_interaction}"},
        ),
        Case(
            "task-create-with-bobs-ask",
            "POST",
            "/v1/etiquette-tasks",
            422,
            json={**TASK, "ask_id": "{bob_ask}"},
        ),
        Case(
            "task-patch-to-bobs-contact",
            "PATCH",
            "/v1/etiquette-tasks/{alice_task}",
            422,
            json={"contact_id": "{bob_contact}"},
        ),
        Case(
            "task-patch-to-bobs-interaction",
            "PATCH",
            "/v1/etiquette-tasks/{alice_task}",
            422,
            json={"interaction_id": "{bob_interaction}"},
        ),
        Case(
            "task-patch-to-bobs-ask",
            "PATCH",
            "/v1/etiquette-tasks/{alice_task}",
            422,
            json={"ask_id": "{bob_ask}"},
        ),
        Case(
            "interaction-patch-to-bobs-contact",
            "PATCH",
            "/v1/interactions/{alice_interaction}",
            422,
            json={"contact_id": "{bob_contact}"},
        ),
        Case(
            "ask-patch-to-bobs-contact",
            "PATCH",
            "/v1/asks/{alice_ask}",
            422,
            json={"contact_id": "{bob_contact}"},
        ),
        Case(
            "contact-create-with-bobs-id",
            "POST",
            "/v1/contacts",
            422,
            json={**CONTACT, "id": "{bob_contact}"},
        ),
        Case(
            "contact-patch-owner",
            "PATCH",
            "/v1/contacts/{alice_contact}",
            422,
            json={"owner_id": "{bob_id}"},
        ),
        Case(
            "contact-patch-id",
            "PATCH",
            "/v1/contacts/{alice_contact}",
            422,
            json={"id": "{bob_contact}"},
        ),
        Case(
            "contact-patch-version",
            "PATCH",
            "/v1/contacts/{alice_contact}",
            422,
            json={"version": 99},
        ),
        Case("me-patch-id", "PATCH", "/v1/me", 422, json={"id": "{bob_id}"}),
        Case("me-patch-bobs-email", "PATCH", "/v1/me", 409, json={"email": BOB_EMAIL}),
        Case("run-for-bob", "POST", "/v1/scheduler/run", 422, json={"owner_id": "{bob_id}"}),
        Case(
            "run-for-all-with-a-user-token",
            "POST",
            "/v1/scheduler/run",
            422,
            json={"all_users": True},
        ),
        Case("bobs-contact-reciprocity", "GET", "/v1/contacts/{bob_contact}/reciprocity", 404),
        Case(
            "bobs-list-cursor", "GET", "/v1/contacts", 400, query="limit=1&cursor={bob_list_cursor}"
        ),
        Case("bobs-sync-cursor", "GET", "/v1/sync", 400, query="cursor={bob_sync_cursor}"),
        Case(
            "bobs-follow-up-cursor",
            "GET",
            "/v1/follow-ups",
            400,
            query="limit=1&cursor={bob_follow_up_cursor}",
        ),
        Case(
            "sync-cursor-as-list-cursor",
            "GET",
            "/v1/contacts",
            400,
            query="cursor={alice_sync_cursor}",
        ),
        Case(
            "list-cursor-as-sync-cursor", "GET", "/v1/sync", 400, query="cursor={alice_list_cursor}"
        ),
        Case("contacts-cursor-on-asks", "GET", "/v1/asks", 400, query="cursor={alice_list_cursor}"),
        Case("bob-token-on-alice-path", "GET", "/v1/contacts/{alice_contact}", 404, auth="bob"),
        Case(
            "bob-deletes-alices-contact", "DELETE", "/v1/contacts/{alice_contact}", 404, auth="bob"
        ),
        Case(
            "bob-patches-alices-ask",
            "PATCH",
            "/v1/asks/{alice_ask}",
            404,
            auth="bob",
            json={"status": "withdrawn"},
        ),
    ]
    return cases


GROUPS: dict[str, Callable[[], list[Case]]] = {
    "bodies": body_cases,
    "strings": string_cases,
    "queries": query_cases,
    "dates": date_cases,
    "headers": header_cases,
    "tokens": token_cases,
    "ownership": ownership_cases,
}


@pytest.mark.parametrize("group", list(GROUPS))
async def test_hostile_input_is_a_4xx_problem_that_changes_and_leaks_nothing(
    app: FastAPI, client: httpx.AsyncClient, group: str
) -> None:
    await run_corpus(app, client, GROUPS[group]())


def test_the_corpus_covers_every_kind_of_hostile_input() -> None:
    names = [case.name for make in GROUPS.values() for case in make()]
    assert len(names) == len(set(names))
    for needle in [
        "nested-10k",
        "array-100k",
        "tags-10k",
        "-nul",
        "surrogate",
        "invalid-utf8",
        "crlf",
        "literal-",
        "q-10k",
        "limit=-1",
        "limit=0",
        "limit-repeated",
        "year-0",
        "year-9999",
        "year-10000",
        "no-offset",
        "offset-25h",
        "other_key",
        "expired",
        "alg_none",
        "refresh_as_access",
        "garbage",
        "bobs-contact",
        "bobs-sync-cursor",
        "bobs-list-cursor",
        "idempotency-key-huge",
    ]:
        assert any(needle in name for name in names), needle
