"""A load soak: many concurrent clients against a real two-worker uvicorn, for a bounded time.

Clients (asyncio, one httpx connection each) share a few accounts, so that they race on the
same records as a user's phone and laptop do, and send the mix a networking app sends: sign-ups
and sign-ins, token refreshes, contacts created (with and without `Idempotency-Key`, some keys
replayed, some sent twice at once), patched (some with `If-Match`) and deleted, meetings logged,
asks made and fulfilled, etiquette tasks made and closed, lists paged, follow-ups, reciprocity,
sync pulls, scheduler runs and small CSV imports.

It fails on:
- any 5xx, and any 4xx the mix does not expect (each operation lists the statuses a race can
  explain: 412 for a stale `If-Match`, 404 for a record a sibling client deleted, …);
- "database is locked", a traceback or an ERROR line in the server's log;
- an acknowledged write that is not there at the end (every id a 2xx returned, read back
  through the sync feed; every imported email; every acknowledged patch counted in the
  record's version), an acknowledged delete whose record (or a child of its contact) is still
  there, or a rule task made twice under concurrent writers and scheduler runs;
- memory that does not level off (see `memory_growth`).

`python -m tests.reliability.soak --seconds 180 --database both` runs it on a fresh SQLite file
and a throwaway PostgreSQL cluster; tests/reliability/test_soak.py runs a short form.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

PASSWORD = "correct horse battery"
MIB = 1024 * 1024
# What the server log may never say. "database is locked" is SQLite's busy timeout running out.
LOG_FORBIDDEN = ("database is locked", "Traceback", "ERROR", "CRITICAL")

# Statuses every operation may answer besides its success, and why a correct server would:
GONE = {404}  # a sibling client deleted the record (or its contact) first
STALE = {412}  # the ETag a client sent was overtaken by a sibling's write


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def words(rng: random.Random, low: int, high: int) -> str:
    """Notes of a realistic length: a few hundred bytes to a few KiB."""
    vocabulary = ("met", "at", "the", "alumni", "dinner", "asked", "about", "compilers", "and")
    return " ".join(rng.choice(vocabulary) for _ in range(rng.randint(low, high)))


@dataclass
class Account:
    """One user, shared by several clients; what they have created and not deleted."""

    email: str
    contacts: dict[str, str] = field(default_factory=dict)  # id -> last ETag seen
    asks: dict[str, str] = field(default_factory=dict)
    tasks: dict[str, str] = field(default_factory=dict)


@dataclass
class Ledger:
    """What the server acknowledged, to be found (or not found) at the end."""

    # resource -> id -> (account email, contact id or None)
    created: dict[str, dict[str, tuple[str, str | None]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    deleted: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    patches: Counter[str] = field(default_factory=Counter)  # contact id -> acknowledged patches
    fulfilled: set[str] = field(default_factory=set)  # outgoing asks
    meetings: set[str] = field(default_factory=set)  # completed meetings (rule 1)
    once: dict[str, str] = field(default_factory=dict)  # keyed contact name -> account email
    imported: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


@dataclass
class Report:
    database: str
    seconds: float
    clients: int
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: list[str] = field(default_factory=list)  # the first of each kind
    failure_kinds: Counter[str] = field(default_factory=Counter)
    rss: list[tuple[float, int]] = field(default_factory=list)  # (seconds into load, bytes)
    log_warnings: int = 0
    final_records: dict[str, int] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def fail(self, message: str, kind: str | None = None) -> None:
        """Notes a failure; `kind` groups alike ones in the summary (default: the message)."""
        kind = kind or message
        self.failure_kinds[kind] += 1
        if self.failure_kinds[kind] == 1:
            self.failures.append(message)

    def percentile(self, q: float, op: str | None = None) -> float:
        """Latency quantile `q` (seconds) of one operation, or of all."""
        chosen = [self.latencies[op]] if op else list(self.latencies.values())
        ordered = sorted(t for times in chosen for t in times)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

    def summary(self) -> str:
        by_status: Counter[int] = Counter()
        for (_, status), n in self.statuses.items():
            by_status[status] += n
        lines = [
            f"soak on {self.database}: {self.requests} requests in {self.seconds:.0f} s "
            f"({self.requests / self.seconds:.0f} req/s) from {self.clients} clients",
            "  statuses: " + ", ".join(f"{s}: {n}" for s, n in sorted(by_status.items())),
            f"  latency: p50 {self.percentile(0.5) * 1000:.0f} ms, "
            f"p99 {self.percentile(0.99) * 1000:.0f} ms, max {self.percentile(1.0) * 1000:.0f} ms",
            "  final records: " + ", ".join(f"{k} {v}" for k, v in self.final_records.items()),
        ]
        if self.rss:
            step = max(1, len(self.rss) // 12)
            samples = [*self.rss[::step], self.rss[-1]] if len(self.rss) > 1 else self.rss
            lines.append(
                "  server RSS (MiB): "
                + " ".join(f"{t:.0f}s={b / MIB:.0f}" for t, b in samples)
                + f"; growth after warm-up {memory_growth(self.rss) / MIB:+.1f} MiB"
            )
        lines.append(f"  server log: {self.log_warnings} warnings")
        lines.append("  per operation (status: count; p50/p99 ms):")
        for op in sorted(self.latencies):
            counts = ", ".join(
                f"{status}: {n}"
                for (name, status), n in sorted(self.statuses.items())
                if name == op
            )
            lines.append(
                f"    {op:<20} {counts}; "
                f"{self.percentile(0.5, op) * 1000:.0f}/{self.percentile(0.99, op) * 1000:.0f}"
            )
        lines.append(f"  failures: {sum(self.failure_kinds.values())}")
        for message, (kind, n) in zip(self.failures, self.failure_kinds.items(), strict=True):
            lines.append(f"    {n} x {kind}" + (f": {message}" if message != kind else ""))
        return "\n".join(lines)


def memory_growth(samples: list[tuple[float, int]]) -> int:
    """How much the peak RSS of the last third of the run exceeds that of the middle third.

    The first third is warm-up and is ignored: connection pools fill, statement and compiled
    query caches and the allocator's arenas grow, and that growth is bounded. After it, a server
    that levels off has the same peak in the middle and final thirds (give or take allocator
    noise), while a leak grows with the requests served, so the final third's peak is higher
    by the leak's rate times a third of the run. Peaks rather than means or a fitted slope: RSS
    moves in steps (arenas are taken and given back), and the peak of a window is the figure
    that a step cannot push down. Compared within the same run, so that a machine that is
    busier today changes both thirds alike.
    """
    if len(samples) < 6:
        return 0
    end = samples[-1][0]
    middle = [b for t, b in samples if end / 3 <= t < 2 * end / 3]
    final = [b for t, b in samples if t >= 2 * end / 3]
    if not middle or not final:
        return 0
    return max(final) - max(middle)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found.extend(int(c) for c in (task / "children").read_text().split())
    return found


def _rss(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def server_pid(port: int) -> int:
    """The uvicorn that this process started on `port` (its supervisor, with --workers)."""
    for pid in _children(os.getpid()):
        with contextlib.suppress(OSError):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"uvicorn" in b" ".join(argv) and str(port).encode() in argv:
                return pid
    raise RuntimeError(f"no uvicorn child of this process listens on port {port}")


def tree(pid: int) -> list[int]:
    """`pid` and every process under it: the uvicorn supervisor, its workers and helpers."""
    pids, queue = [], [pid]
    while queue:
        current = queue.pop()
        pids.append(current)
        queue.extend(_children(current))
    return pids


class Sampler:
    """Samples the server tree's total RSS from a thread, so a busy event loop cannot delay it."""

    def __init__(self, pid: int, report: Report, interval: float = 0.5) -> None:
        self.pid, self.report, self.interval = pid, report, interval
        self.stop = threading.Event()
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            total = sum(_rss(pid) for pid in tree(self.pid))
            self.report.rss.append((time.monotonic() - self.started, total))
            self.stop.wait(self.interval)

    def __enter__(self) -> Sampler:
        self.started = time.monotonic()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


class Client:
    """One simulated device: its own connection, its own sign-in and sync cursor."""

    def __init__(
        self,
        base: str,
        account: Account,
        ledger: Ledger,
        report: Report,
        seed: int,
        mix: dict[str, float] | None = None,
    ) -> None:
        self.http = httpx.AsyncClient(base_url=base, timeout=60)
        self.account, self.ledger, self.report = account, ledger, report
        self.mix = mix or {}  # operation name -> weight, over the defaults below
        self.rng = random.Random(seed)
        self.access = ""
        self.refresh_token = ""
        self.sync_cursor: str | None = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}

    async def call(
        self, op: str, method: str, url: str, expected: set[int], **kwargs: Any
    ) -> httpx.Response | None:
        """One request; records its status and latency, and a failure when it is unexpected."""
        started = time.monotonic()
        try:
            r = await self.http.request(method, url, **kwargs)
        except httpx.TransportError as exc:  # loopback: a dropped connection is a failure
            self.report.fail(f"{op}: {method} {url}: {exc!r}", f"{op}: {type(exc).__name__}")
            return None
        self.report.latencies[op].append(time.monotonic() - started)
        self.report.statuses[(op, r.status_code)] += 1
        if r.status_code not in expected:
            self.report.fail(f"{method} {url}: {r.text[:300]}", f"{op} -> {r.status_code}")
            return None
        return r

    def unknown_contact(self, r: httpx.Response | None) -> bool:
        """A 422 that says the contact went away meanwhile (a sibling deleted it)."""
        return (
            r is not None
            and r.status_code == 422
            and any(e.get("code") == "unknown_contact" for e in r.json().get("errors", []))
        )

    # --- accounts ---

    async def sign_in(self) -> None:
        r = await self.call(
            "sign-in",
            "POST",
            "/v1/auth/token",
            {200},
            data={"username": self.account.email, "password": PASSWORD},
        )
        if r is not None:
            self.access = r.json()["access_token"]
            self.refresh_token = r.json()["refresh_token"]

    async def refresh(self) -> None:
        r = await self.call(
            "refresh",
            "POST",
            "/v1/auth/refresh",
            {200},
            json={"refresh_token": self.refresh_token},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        if r is None:
            self.access = ""
            return
        self.access = r.json()["access_token"]
        self.refresh_token = r.json()["refresh_token"]

    async def sign_up(self) -> None:
        email = f"soak-{uuid.uuid4().hex[:12]}@example.com"
        r = await self.call(
            "sign-up",
            "POST",
            "/v1/auth/register",
            {201},
            json={"email": email, "password": PASSWORD},
        )
        if r is not None:
            await self.call(
                "sign-in",
                "POST",
                "/v1/auth/token",
                {200},
                data={"username": email, "password": PASSWORD},
            )

    async def me(self) -> None:
        await self.call("me", "GET", "/v1/me", {200}, headers=self.auth)

    # --- contacts ---

    def maybe_if_match(self, etag: str) -> tuple[dict[str, str], bool]:
        """The auth headers, and half the time `If-Match` (which a racing write makes 412)."""
        headers = dict(self.auth)
        conditional = self.rng.random() < 0.5
        if conditional:
            headers["If-Match"] = etag
        return headers, conditional

    def pick(self, pool: dict[str, str]) -> tuple[str, str] | None:
        if not pool:
            return None
        record_id = self.rng.choice(list(pool))
        return record_id, pool.get(record_id, '"1"')

    def contact_body(self) -> dict[str, Any]:
        return {
            "full_name": f"Soak {uuid.uuid4().hex[:12]}",
            "circle": self.rng.choice(["coworker", "alumni", "friend", "career_fair", "online"]),
            "organization": self.rng.choice(["Navy", "MIT", "Bell Labs", None]),
            "tags": self.rng.sample(["compilers", "hiring", "mentor", "conference"], 2),
            "notes": words(self.rng, 20, 400),
            # Short cadences so that the scheduler has reconnects to make.
            "cadence_days": self.rng.choice([1, 7, None]),
        }

    def created_contact(self, r: httpx.Response) -> None:
        body = r.json()
        self.account.contacts[body["id"]] = r.headers["ETag"]
        self.ledger.created["contacts"][body["id"]] = (self.account.email, None)

    async def create_contact(self) -> None:
        body = self.contact_body()
        headers = dict(self.auth)
        keyed = self.rng.random() < 0.5
        if keyed:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        r = await self.call(
            "contact-create", "POST", "/v1/contacts", {201}, json=body, headers=headers
        )
        if r is None:
            return
        self.created_contact(r)
        if keyed and self.rng.random() < 0.3:  # a retry after a lost answer: replayed
            again = await self.call(
                "contact-replay", "POST", "/v1/contacts", {201}, json=body, headers=headers
            )
            if again is not None and (
                again.json()["id"] != r.json()["id"]
                or again.headers.get("Idempotent-Replayed") != "true"
            ):
                self.report.fail(
                    f"{r.text[:200]} / {again.text[:200]}", "a replay made a new contact"
                )

    async def create_contact_twice_at_once(self) -> None:
        """The same keyed create sent twice at once (a double tap): one contact, never two."""
        body = self.contact_body()
        headers = {**self.auth, "Idempotency-Key": str(uuid.uuid4())}
        self.ledger.once[body["full_name"]] = self.account.email
        twin = Client(str(self.http.base_url), self.account, self.ledger, self.report, 0)
        try:
            answers = await asyncio.gather(
                *(
                    c.call(
                        "contact-double",
                        "POST",
                        "/v1/contacts",
                        {201, 409},
                        json=body,
                        headers=headers,
                    )
                    for c in (self, twin)
                )
            )
        finally:
            await twin.http.aclose()
        for r in answers:
            if r is None:
                continue
            if r.status_code == 409:
                if r.json().get("type") != "/problems/idempotency-key-in-flight":
                    self.report.fail(r.text[:300], "contact-double: a 409 other than in flight")
            else:
                self.created_contact(r)

    async def get_contact(self) -> None:
        picked = self.pick(self.account.contacts)
        if picked is None:
            return
        contact_id, etag = picked
        headers = dict(self.auth)
        if self.rng.random() < 0.5:
            headers["If-None-Match"] = etag
        r = await self.call(
            "contact-get", "GET", f"/v1/contacts/{contact_id}", {200, 304, *GONE}, headers=headers
        )
        if r is not None and r.status_code == 200:
            self.account.contacts[contact_id] = r.headers["ETag"]

    async def patch_contact(self) -> None:
        picked = self.pick(self.account.contacts)
        if picked is None:
            return
        contact_id, etag = picked
        headers, conditional = self.maybe_if_match(etag)
        # A value no other patch sends, so that every acknowledged patch adds one to the version.
        patch = {"title": f"t-{uuid.uuid4().hex[:8]}", "notes": words(self.rng, 10, 200)}
        r = await self.call(
            "contact-patch",
            "PATCH",
            f"/v1/contacts/{contact_id}",
            {200, *GONE, *(STALE if conditional else set())},
            json=patch,
            headers=headers,
        )
        if r is not None and r.status_code == 200:
            self.ledger.patches[contact_id] += 1
            self.account.contacts[contact_id] = r.headers["ETag"]

    async def delete_contact(self) -> None:
        picked = self.pick(self.account.contacts)
        if picked is None:
            return
        contact_id, etag = picked
        headers, conditional = self.maybe_if_match(etag)
        r = await self.call(
            "contact-delete",
            "DELETE",
            f"/v1/contacts/{contact_id}",
            {204, *GONE, *(STALE if conditional else set())},
            headers=headers,
        )
        if r is not None and r.status_code in (204, 404):
            self.account.contacts.pop(contact_id, None)
        if r is not None and r.status_code == 204:
            self.ledger.deleted["contacts"].add(contact_id)

    async def list_contacts(self) -> None:
        params: dict[str, Any] = {"limit": self.rng.choice([10, 20, 50])}
        if self.rng.random() < 0.3:
            params["q"] = self.rng.choice(["soak", "navy", "compilers", "%_"])
        elif self.rng.random() < 0.3:
            params["circle"] = "alumni"
        for _ in range(3):  # a screen or three of a scrolling list
            r = await self.call(
                "contact-list", "GET", "/v1/contacts", {200}, params=params, headers=self.auth
            )
            if r is None or r.json()["next_cursor"] is None:
                return
            params["cursor"] = r.json()["next_cursor"]

    async def import_csv(self) -> None:
        """A small export from another phone: five new people, by email."""
        tag = uuid.uuid4().hex[:10]
        emails = [f"import-{tag}-{n}@example.com" for n in range(5)]
        rows = ["Rapport ID,Full Name,Email,Organization,Tags,Notes"]
        rows += [
            f",Imported {tag} {n},{email},ACM,imported,{words(self.rng, 5, 40)}"
            for n, email in enumerate(emails)
        ]
        headers = dict(self.auth)
        if self.rng.random() < 0.5:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        files = {"file": ("contacts.csv", "\r\n".join(rows).encode(), "text/csv")}
        r = await self.call(
            "import", "POST", "/v1/contacts/import", {200}, files=files, headers=headers
        )
        if r is None:
            return
        report = r.json()
        if report["created"] != 5 or report["errors"]:
            self.report.fail(str(report), "import: not 5 created")
        self.ledger.imported[self.account.email].update(emails)

    # --- interactions, asks, tasks ---

    async def log_interaction(self) -> None:
        picked = self.pick(self.account.contacts)
        if picked is None:
            return
        contact_id, _ = picked
        now = datetime.now(UTC)
        completed = self.rng.random() < 0.6
        body: dict[str, Any] = {"contact_id": contact_id, "summary": words(self.rng, 5, 80)}
        if completed:  # a meeting that happened: a thank-you note is due (rule 1)
            when = now - timedelta(days=self.rng.randint(2, 20), minutes=self.rng.randint(0, 999))
            body |= {"channel": "in_person", "kind": "meeting", "status": "completed"}
        else:  # one to come, whose time I proposed (rules 3 and 4)
            when = now + timedelta(days=self.rng.randint(1, 30))
            body |= {
                "channel": "video",
                "kind": "informational_interview",
                "status": "planned",
                "time_proposed_by": "me",
            }
        body["occurred_at"] = iso(when)
        headers = dict(self.auth)
        if self.rng.random() < 0.3:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        r = await self.call(
            "interaction-create", "POST", "/v1/interactions", {201, 422}, json=body, headers=headers
        )
        if r is None or self.unknown_contact(r):
            return
        if r.status_code != 201:
            self.report.fail(r.text[:300], f"interaction-create -> {r.status_code}")
            return
        interaction_id = r.json()["id"]
        self.ledger.created["interactions"][interaction_id] = (self.account.email, contact_id)
        if completed:
            self.ledger.meetings.add(interaction_id)

    async def list_interactions(self) -> None:
        params: dict[str, Any] = {"limit": 20}
        picked = self.pick(self.account.contacts)
        if picked is not None and self.rng.random() < 0.5:
            params["contact_id"] = picked[0]
        else:
            params["occurred_after"] = iso(datetime.now(UTC) - timedelta(days=10))
        await self.call(
            "interaction-list", "GET", "/v1/interactions", {200}, params=params, headers=self.auth
        )

    async def create_ask(self) -> None:
        picked = self.pick(self.account.contacts)
        if picked is None:
            return
        body = {
            "contact_id": picked[0],
            "direction": self.rng.choice(["outgoing", "incoming"]),
            "kind": self.rng.choice(["advice", "feedback", "referral", "introduction", "job"]),
            "statement": "Could you " + words(self.rng, 5, 30),
        }
        r = await self.call(
            "ask-create", "POST", "/v1/asks", {201, 422}, json=body, headers=self.auth
        )
        if r is None or self.unknown_contact(r):
            return
        if r.status_code != 201:
            self.report.fail(r.text[:300], f"ask-create -> {r.status_code}")
            return
        ask = r.json()
        self.account.asks[ask["id"]] = f'"{ask["version"]}"'
        self.ledger.created["asks"][ask["id"]] = (self.account.email, picked[0])

    async def fulfil_ask(self) -> None:
        picked = self.pick(self.account.asks)
        if picked is None:
            return
        ask_id, etag = picked
        headers, conditional = self.maybe_if_match(etag)
        r = await self.call(
            "ask-fulfil",
            "PATCH",
            f"/v1/asks/{ask_id}",
            {200, *GONE, *(STALE if conditional else set())},
            json={"status": "fulfilled", "effort": self.rng.randint(1, 5)},
            headers=headers,
        )
        if r is None:
            return
        if r.status_code in (200, 404):
            self.account.asks.pop(ask_id, None)  # done with it, either way
        if r.status_code == 200 and r.json()["direction"] == "outgoing":
            self.ledger.fulfilled.add(ask_id)

    async def create_task(self) -> None:
        picked = self.pick(self.account.contacts)
        if picked is None:
            return
        body = {
            "contact_id": picked[0],
            "kind": "custom",
            "title": "Send the article we talked about",
            "due_at": iso(datetime.now(UTC) + timedelta(days=self.rng.randint(-3, 10))),
        }
        r = await self.call(
            "task-create", "POST", "/v1/etiquette-tasks", {201, 422}, json=body, headers=self.auth
        )
        if r is None or self.unknown_contact(r):
            return
        if r.status_code != 201:
            self.report.fail(r.text[:300], f"task-create -> {r.status_code}")
            return
        self.account.tasks[r.json()["id"]] = r.headers["ETag"]
        self.ledger.created["etiquette_tasks"][r.json()["id"]] = (self.account.email, picked[0])

    async def close_task(self) -> None:
        picked = self.pick(self.account.tasks)
        if picked is None:
            return
        task_id, etag = picked
        r = await self.call(
            "task-close",
            "PATCH",
            f"/v1/etiquette-tasks/{task_id}",
            {200, *GONE, *STALE},
            json={"status": self.rng.choice(["done", "dismissed"])},
            headers={**self.auth, "If-Match": etag},
        )
        if r is not None and r.status_code in (200, 404):
            self.account.tasks.pop(task_id, None)

    async def list_tasks(self) -> None:
        params = {
            "status": "pending",
            "limit": 50,
            "due_before": iso(datetime.now(UTC) + timedelta(days=7)),
        }
        await self.call(
            "task-list", "GET", "/v1/etiquette-tasks", {200}, params=params, headers=self.auth
        )

    async def list_asks(self) -> None:
        params = {"direction": "outgoing", "status": "open", "limit": 50}
        await self.call("ask-list", "GET", "/v1/asks", {200}, params=params, headers=self.auth)

    # --- computed views, sync, scheduler ---

    async def follow_ups(self) -> None:
        await self.call(
            "follow-ups", "GET", "/v1/follow-ups", {200}, params={"limit": 50}, headers=self.auth
        )

    async def reciprocity(self) -> None:
        await self.call("reciprocity", "GET", "/v1/reciprocity", {200}, headers=self.auth)

    async def sync(self) -> None:
        for _ in range(5):
            params: dict[str, Any] = {"limit": 200}
            if self.sync_cursor:
                params["cursor"] = self.sync_cursor
            r = await self.call("sync", "GET", "/v1/sync", {200}, params=params, headers=self.auth)
            if r is None:
                return
            self.sync_cursor = r.json()["cursor"]
            if not r.json()["has_more"]:
                return

    async def run_scheduler(self) -> None:
        await self.call("scheduler", "POST", "/v1/scheduler/run", {200}, json={}, headers=self.auth)

    def operations(self) -> list[tuple[Callable[[], Awaitable[None]], float]]:
        return [
            (self.list_contacts, 10),
            (self.get_contact, 8),
            (self.create_contact, 9),
            (self.create_contact_twice_at_once, 1),
            (self.patch_contact, 8),
            (self.delete_contact, 2),
            (self.log_interaction, 8),
            (self.list_interactions, 4),
            (self.create_ask, 5),
            (self.fulfil_ask, 4),
            (self.list_asks, 2),
            (self.create_task, 3),
            (self.close_task, 3),
            (self.list_tasks, 4),
            (self.follow_ups, 4),
            (self.reciprocity, 3),
            (self.sync, 6),
            (self.run_scheduler, 3),
            (self.import_csv, 1),
            (self.me, 2),
            (self.refresh, 1),
            (self.sign_up, 0.3),
        ]

    async def run(self, deadline: float) -> None:
        unknown = self.mix.keys() - {op.__name__ for op, _ in self.operations()}
        if unknown:
            raise ValueError(f"no such operations: {sorted(unknown)}")
        operations = [(op, self.mix.get(op.__name__, w)) for op, w in self.operations()]
        actions = [op for op, _ in operations]
        weights = [w for _, w in operations]
        while time.monotonic() < deadline:
            if not self.access:  # signed out by a failed sign-in or refresh (already counted)
                await self.sign_in()
                continue
            await self.rng.choices(actions, weights)[0]()
        await self.http.aclose()


async def _feed(http: httpx.AsyncClient, auth: dict[str, str]) -> dict[str, dict[str, dict]]:
    """Every live record of one account, through the sync feed from scratch."""
    records: dict[str, dict[str, dict]] = defaultdict(dict)
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        r = await http.get("/v1/sync", params=params, headers=auth)
        r.raise_for_status()
        for name, changes in r.json()["changes"].items():
            for record in changes["upserted"]:
                records[name][record["id"]] = record
            for record_id in changes["deleted"]:
                records[name].pop(record_id, None)
        cursor = r.json()["cursor"]
        if not r.json()["has_more"]:
            return records


async def verify(base: str, accounts: list[Account], ledger: Ledger, report: Report) -> None:
    """Everything acknowledged is there, whole; nothing acknowledged as deleted is."""
    live: dict[str, dict[str, dict]] = defaultdict(dict)
    owner: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        for account in accounts:
            r = await http.post(
                "/v1/auth/token", data={"username": account.email, "password": PASSWORD}
            )
            r.raise_for_status()
            feed = await _feed(http, {"Authorization": f"Bearer {r.json()['access_token']}"})
            for name, records in feed.items():
                live[name].update(records)
                owner.update({record_id: account.email for record_id in records})
            emails = {c["email"] for c in feed["contacts"].values()}
            for email in ledger.imported[account.email] - emails:
                report.fail(email, "an imported contact is missing")
            names = Counter(c["full_name"] for c in feed["contacts"].values())
            for name, email in ledger.once.items():
                if email == account.email and names[name] > 1:
                    report.fail(name, "a double-tapped keyed create made two contacts")
    report.final_records = {name: len(records) for name, records in live.items()}

    gone = ledger.deleted["contacts"]
    for resource, created in ledger.created.items():
        for record_id, (email, contact_id) in created.items():
            deleted = record_id in ledger.deleted[resource] or record_id in gone
            expected_gone = deleted or contact_id in gone
            if expected_gone and record_id in live[resource]:
                report.fail(record_id, f"{resource}: deleted (or its contact was), still there")
            elif not expected_gone and record_id not in live[resource]:
                report.fail(record_id, f"{resource}: acknowledged, missing at the end")
            elif not expected_gone and owner.get(record_id) != email:
                report.fail(record_id, f"{resource}: in another account's feed")
    for contact_id, patches in ledger.patches.items():
        contact = live["contacts"].get(contact_id)
        if contact is not None and contact["version"] < 1 + patches:
            report.fail(
                f"{contact_id}: {patches} acknowledged patches, version {contact['version']}",
                "a contact's version counts fewer patches than were acknowledged",
            )

    # Rule tasks: one thank-you per completed meeting and per fulfilled outgoing ask, however
    # many writers and scheduler runs overlapped; at most one reconnect per contact and date.
    tasks = list(live["etiquette_tasks"].values())
    thanks = Counter(
        t["interaction_id"] or t["ask_id"] for t in tasks if t["kind"] == "thank_you_note"
    )
    for reference in ledger.meetings | ledger.fulfilled:
        alive = reference in live["interactions"] or reference in live["asks"]
        if alive and thanks[reference] != 1:
            report.fail(
                f"{reference}: {thanks[reference]}", "not one thank-you note per meeting or ask"
            )
    reconnects = Counter((t["contact_id"], t["due_at"]) for t in tasks if t["kind"] == "reconnect")
    for key, n in reconnects.items():
        if n > 1:
            report.fail(f"{key}: {n}", "reconnect tasks made twice")


def check_log(text: str, report: Report) -> None:
    for line in text.splitlines():
        found = [word for word in LOG_FORBIDDEN if word in line]
        if found:
            report.fail(line[:300], f"server log says {found[0]!r}")
        elif "WARNING" in line:
            report.log_warnings += 1


async def sign_up_accounts(base: str, users: int) -> list[Account]:
    accounts = [Account(f"soak-{uuid.uuid4().hex[:12]}@example.com") for _ in range(users)]
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        for account in accounts:
            r = await http.post(
                "/v1/auth/register", json={"email": account.email, "password": PASSWORD}
            )
            r.raise_for_status()
    return accounts


async def run_soak(
    database_url: str,
    seconds: float,
    workdir: Path,
    *,
    clients: int = 48,
    users: int = 8,
    memory_limit_mib: float = 16,
    mix: dict[str, float] | None = None,
) -> Report:
    """Soak a two-worker uvicorn on `database_url` (migrated) with `clients` devices of `users`
    accounts for `seconds`, then check what it acknowledged. The report lists every failure, a
    growth of RSS after warm-up beyond `memory_limit_mib` included."""
    from tests.live import serve

    report = Report(database_url.split(":", 1)[0], seconds, clients)
    ledger = Ledger()
    log_path = workdir / "soak-server.log"
    # The server's own start and the checks at the end block this loop briefly: nothing else
    # runs on it then.
    with serve(database_url, log_path, "--workers", "2", "--log-level", "warning") as base:
        accounts = await sign_up_accounts(base, users)
        devices = [
            Client(base, accounts[n % users], ledger, report, seed=n, mix=mix)
            for n in range(clients)
        ]
        # Sampled during the load only: the checks at the end read everything at once.
        with Sampler(server_pid(urlsplit(base).port or 0), report):
            started = time.monotonic()
            await asyncio.gather(*(device.run(started + seconds) for device in devices))
            report.seconds = time.monotonic() - started
        await verify(base, accounts, ledger, report)
    check_log(log_path.read_text(errors="replace"), report)
    growth = memory_growth(report.rss)
    if growth > memory_limit_mib * MIB:
        report.fail(
            f"server RSS grew {growth / MIB:.1f} MiB after warm-up (limit {memory_limit_mib} MiB)"
        )
    return report


async def log_lock_waits(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("ALTER SYSTEM SET log_lock_waits = on")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


@contextlib.contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """A fresh, migrated database: a SQLite file, or a throwaway PostgreSQL cluster."""
    from alembic import command
    from tests.conftest import alembic_config
    from tests.pg import PostgresCluster

    if kind == "sqlite":
        url = f"sqlite:///{workdir}/soak.db"
        command.upgrade(alembic_config(url), "head")
        yield url
        return
    cluster = PostgresCluster()
    try:
        url = cluster.start()
        # A deadlock's report (both statements) and any lock wait longer than deadlock_timeout
        # go to the cluster's log, which is kept beside the server's (see `--keep`).
        asyncio.run(log_lock_waits(url))
        command.upgrade(alembic_config(url), "head")
        yield url
    finally:
        with contextlib.suppress(OSError):
            shutil.copy(cluster.root / "server.log", workdir / "postgresql.log")
        cluster.stop()


def main() -> int:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=float(os.environ.get("RAPPORT_SOAK_SECONDS", "180"))
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", type=int, default=48)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument(
        "--memory-limit-mib", type=float, default=8, help="allowed RSS growth after warm-up"
    )
    parser.add_argument("--keep", action="store_true", help="keep the server log and database")
    parser.add_argument(
        "--mix",
        default="",
        help="weights over the default mix, e.g. delete_contact=10,sync=0 (names: Client methods)",
    )
    args = parser.parse_args()
    mix = {
        name: float(weight)
        for name, _, weight in (item.partition("=") for item in args.mix.split(",") if item)
    }
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    failed = False
    for kind in kinds:
        workdir = Path(tempfile.mkdtemp(prefix="rapport-soak-"))
        try:
            with database(kind, workdir) as url:
                report = asyncio.run(
                    run_soak(
                        url,
                        args.seconds,
                        workdir,
                        clients=args.clients,
                        users=args.users,
                        memory_limit_mib=args.memory_limit_mib,
                        mix=mix,
                    )
                )
            print(report.summary(), flush=True)
            pg_log = workdir / "postgresql.log"
            if pg_log.exists():
                deadlocks = pg_log.read_text(errors="replace").count("deadlock detected")
                print(f"  PostgreSQL log: {deadlocks} deadlocks", flush=True)
            failed = failed or bool(report.failures)
        finally:
            if args.keep:
                print(f"  kept: {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
