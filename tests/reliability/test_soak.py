"""The load soak in short (tests/reliability/soak.py): a two-worker uvicorn under 32 concurrent
clients of six accounts for about 25 s, on both databases. `make soak` runs it for minutes.

What it asserts is correctness, which load on the machine cannot change: no 5xx and no 4xx that
the mix does not explain, no "database is locked" or traceback in the server log, every
acknowledged write there at the end. The memory bound is wide (without a leak the growth after
warm-up measured 2–4 MiB on PostgreSQL, 6–8 MiB on SQLite, whose page caches fill as the file
grows) and catches a leak of about 32 KiB per request (+20 MiB measured); smaller leaks need
`make soak`'s longer run.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from app.core.config import Settings
from tests.reliability.soak import run_soak

SECONDS = float(os.environ.get("RAPPORT_SOAK_TEST_SECONDS", "25"))
MEMORY_LIMIT_MIB = 16
# Fewer than this many answers in the run and it tested too little to mean anything.
MIN_REQUESTS = 300


async def test_a_soak_of_mixed_clients_loses_nothing_and_answers_no_5xx(
    migrated: Settings, app: FastAPI, tmp_path: Path
) -> None:
    # `app`: the suite's tables are emptied after the test, as after any other.
    report = await run_soak(
        migrated.database_url,
        SECONDS,
        tmp_path,
        clients=32,
        users=6,
        memory_limit_mib=MEMORY_LIMIT_MIB,
    )
    print(report.summary())
    assert report.failures == [], report.summary()
    server_errors = {k: n for k, n in report.statuses.items() if k[1] >= 500}
    assert server_errors == {}
    assert report.requests >= MIN_REQUESTS, report.summary()
    assert report.final_records.get("contacts", 0) > 0
