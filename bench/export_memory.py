"""Peak memory of `GET /v1/contacts/export` for 10k and 100k contacts: flat if it streams.

    .venv/bin/python -m bench.export_memory [--sizes 10000 100000] [--formats csv vcf]
                                            [--no-tracemalloc]

For each size, fills a fresh SQLite file (schema by `alembic upgrade head`, contacts by
executemany) and, in a fresh process per format, drives the whole ASGI app through one export
request. The response body is counted and dropped chunk by chunk, as a server socket would, so
what stays allocated is what the app holds. Reported: wall time and how far the process's RSS
high-water mark rises during the request (plain run), and tracemalloc's peak of Python
allocations during a second, traced request (several times slower). A memory-flat export has
the same figures for 10k and 100k contacts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-" + "x" * 40


def fill(url: str, size: int) -> uuid.UUID:
    from alembic.config import Config
    from sqlalchemy import create_engine, insert

    import app.models  # noqa: F401 (every table in the metadata)
    from alembic import command
    from app.auth.models import User
    from app.contacts.models import Contact

    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")

    rng = random.Random(size)
    owner = uuid.uuid4()
    start = datetime(2024, 1, 1, tzinfo=UTC)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            insert(User),
            [
                {
                    "id": owner,
                    "email": "bench@example.com",
                    "password_hash": "x",
                    "timezone": "Europe/London",
                }
            ],
        )
        rows: list[dict[str, Any]] = []
        for i in range(size):
            created = start + timedelta(seconds=i * 7)
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "owner_id": owner,
                    "created_at": created,
                    "updated_at": created,
                    "full_name": f"Person {i} Ångström",
                    "email": f"person{i}@example.com",
                    "phone": f"+44 20 7946 {i % 10000:04d}",
                    "organization": rng.choice(["Acme", "Initech", "=Evil()", None]),
                    "title": rng.choice(["Engineer", "Director", None]),
                    "circle": "other",
                    "tags": rng.sample(["alumni", "mentor", "python", "london"], 2),
                    "notes": "Met at a conference.\nFollow up about the role." * rng.randint(0, 3)
                    or None,
                    "follow_up_due_at": created + timedelta(days=90),
                }
            )
            if len(rows) == 10_000:
                conn.execute(insert(Contact), rows)
                rows = []
        if rows:
            conn.execute(insert(Contact), rows)
    engine.dispose()
    return owner


async def export_once(url: str, owner: uuid.UUID, fmt: str, traced: bool) -> dict[str, float]:
    from app.core.config import Settings
    from app.core.security import create_access_token
    from app.main import create_app

    settings = Settings(database_url=url, secret_key=SECRET, log_level="WARNING")
    application = create_app(settings)
    token = create_access_token(owner, SECRET, datetime.now(UTC), timedelta(minutes=15))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/v1/contacts/export",
        "raw_path": b"/v1/contacts/export",
        "query_string": f"format={fmt}".encode(),
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
    }
    received = {"bytes": 0, "chunks": 0, "status": 0}
    requested = False
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        # The empty GET body once; then, like a client that stays connected, nothing until
        # the response is complete (StreamingResponse listens for a disconnect meanwhile).
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            received["status"] = message["status"]
        elif message["type"] == "http.response.body":
            received["bytes"] += len(message.get("body", b""))
            received["chunks"] += 1
            if not message.get("more_body", False):
                done.set()

    async def request(query: bytes) -> None:
        nonlocal requested
        requested = False
        done.clear()
        await application(dict(scope, query_string=query), receive, send)

    def max_rss_mib() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # A first export (of a user with no contacts) loads modules and opens the pool outside the
    # measurement.
    warm_token = create_access_token(uuid.uuid4(), SECRET, datetime.now(UTC), timedelta(minutes=9))
    scope_owner = scope["headers"]
    scope["headers"] = [(b"host", b"bench"), (b"authorization", f"Bearer {warm_token}".encode())]
    await request(f"format={fmt}".encode())
    scope["headers"] = scope_owner

    # 1. Plain: wall time, and how far the process's RSS high-water mark rises.
    received.update(bytes=0, chunks=0, status=0)
    rss_before = max_rss_mib()
    started = time.perf_counter()
    await request(f"format={fmt}".encode())
    elapsed = time.perf_counter() - started
    assert received["status"] == 200, received
    result = {
        "seconds": elapsed,
        "body_mib": received["bytes"] / 2**20,
        "chunks": received["chunks"],
        "rss_before_mib": rss_before,
        "rss_growth_mib": max_rss_mib() - rss_before,
        "peak_mib": -1.0,
    }
    # 2. Under tracemalloc (several times slower): the peak of Python allocations.
    if traced:
        tracemalloc.start()
        baseline = tracemalloc.get_traced_memory()[0]
        await request(f"format={fmt}".encode())
        result["peak_mib"] = (tracemalloc.get_traced_memory()[1] - baseline) / 2**20
        tracemalloc.stop()
    await application.state.runtime.db.dispose()
    return result


def child(args: argparse.Namespace) -> None:
    result = asyncio.run(export_once(args.url, uuid.UUID(args.owner), args.fmt, args.traced))
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--formats", nargs="+", default=["csv", "vcf"])
    parser.add_argument(
        "--no-tracemalloc",
        dest="traced",
        action="store_false",
        help="skip the (slow) tracemalloc run; RSS growth is still reported",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--owner", help=argparse.SUPPRESS)
    parser.add_argument("--fmt", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    print(
        f"{'contacts':>9} {'format':>6} {'body MiB':>9} {'chunks':>7} {'seconds':>8} "
        f"{'RSS before MiB':>15} {'RSS growth MiB':>15} {'tracemalloc peak MiB':>21}"
    )
    with tempfile.TemporaryDirectory(prefix="rapport-export-bench-") as folder:
        for size in args.sizes:
            url = f"sqlite:///{folder}/export-{size}.db"
            owner = fill(url, size)
            for fmt in args.formats:
                out = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "bench.export_memory",
                        "--child",
                        "--url",
                        url,
                        "--owner",
                        str(owner),
                        "--fmt",
                        fmt,
                        *([] if args.traced else ["--no-tracemalloc"]),
                    ],
                    cwd=ROOT,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                r = json.loads(out.strip().splitlines()[-1])
                peak = f"{r['peak_mib']:.2f}" if r["peak_mib"] >= 0 else "-"
                print(
                    f"{size:>9} {fmt:>6} {r['body_mib']:>9.1f} {r['chunks']:>7} "
                    f"{r['seconds']:>8.1f} {r['rss_before_mib']:>15.1f} "
                    f"{r['rss_growth_mib']:>15.1f} {peak:>21}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
