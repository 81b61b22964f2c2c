"""CPU and wall time per request of one endpoint, through the ASGI app in this process (no
server, no network): how the changes recorded in docs/benchmarks.md were decided.

    python -m bench.request_cost sqlite:///http.db /v1/contacts?limit=50 [--baseline]
        [--requests 300] [--profile tottime] [--user <uuid>]

The database is one the HTTP benchmark loads (bench/http_bench.py; `python -m bench.generate`
loads one too). CPU time counts every thread of the process (the baseline runs SQLite in a
thread pool), so it is what a request costs a worker; wall time moves with the machine's load.
On a shared machine, compare versions in alternating runs and by their minimum. `--profile`
prints cProfile's top functions (coroutine functions count once per resumption); it inflates
code made of many small Python calls (the ORM's row loading looked like a fifth of a
follow-ups page under it and was within the noise when removed), so confirm with a sampling
profiler: `py-spy record -f raw -- python -m bench.request_cost …`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import os
import pstats
import sqlite3
import time
import uuid
from datetime import timedelta
from typing import Any

SECRET = "bench-http-secret-" + "y" * 40


def first_user(url: str) -> uuid.UUID:
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("///", 1)[1])
        try:
            return uuid.UUID(hex=conn.execute("SELECT min(id) FROM users").fetchone()[0])
        finally:
            conn.close()

    async def read() -> uuid.UUID:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            return uuid.UUID(str(await conn.fetchval("SELECT min(id::text) FROM users")))
        finally:
            await conn.close()

    return asyncio.run(read())


async def measure(args: argparse.Namespace, user: uuid.UUID) -> None:
    import httpx

    from app.core.db import utcnow
    from app.core.security import create_access_token

    app: Any
    if args.baseline:
        os.environ["BENCH_DATABASE_URL"] = args.url
        os.environ["RAPPORT_SECRET_KEY"] = SECRET
        from bench.baseline import app
    else:
        from app.core.config import Settings
        from app.main import create_app

        app = create_app(Settings(database_url=args.url, secret_key=SECRET, log_level="WARNING"))
    logging.disable(logging.INFO)
    token = create_access_token(user, SECRET, utcnow(), timedelta(hours=2))
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
    ):
        first = await client.get(args.path, headers=headers)
        print(f"{args.path}: {first.status_code}, {len(first.content):,} bytes")
        for _ in range(20):
            await client.get(args.path, headers=headers)
        # Measured through the ASGI interface itself, as uvicorn calls it: an HTTP client in
        # the loop cost about 0.7 ms a request on both sides, which hid the difference.
        call = _asgi_get(app, args.path, headers)
        for _ in range(20):
            await call()
        profile = cProfile.Profile() if args.profile else None
        wall, cpu = time.perf_counter(), time.process_time()
        if profile:
            profile.enable()
        for _ in range(args.requests):
            await call()
        if profile:
            profile.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"{'baseline' if args.baseline else 'Rapport'}: {cpu / args.requests * 1000:.2f} ms "
            f"CPU, {wall / args.requests * 1000:.2f} ms wall per request"
            + (" (under the profiler)" if profile else "")
        )
        if profile:
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats(args.profile).print_stats(40)
            print(out.getvalue())


def _asgi_get(app: Any, target: str, headers: dict[str, str]) -> Any:
    """A coroutine function making one GET of `target` through `app`, checking its status."""
    path, _, query = target.partition("?")
    raw = [(b"host", b"bench"), *((k.lower().encode(), v.encode()) for k, v in headers.items())]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def call() -> None:
        status: list[int] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query.encode(),
            "headers": list(raw),
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        await app(scope, receive, send)
        if status != [200] and status != [304]:
            raise RuntimeError(f"GET {target}: {status}")

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url")
    parser.add_argument("path")
    parser.add_argument("--baseline", action="store_true", help="bench/baseline.py, not Rapport")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", choices=["tottime", "cumulative"])
    parser.add_argument("--user", type=uuid.UUID, help="default: the first user")
    args = parser.parse_args()
    asyncio.run(measure(args, args.user or first_user(args.url)))


if __name__ == "__main__":
    main()
