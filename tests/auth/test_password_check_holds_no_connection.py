"""The password hash is computed while the request holds no database connection.

Argon2id takes tens of milliseconds of CPU by design. Computed inside the request's transaction,
it kept a pooled connection idle in a transaction on PostgreSQL and, on SQLite, the write lock
that every other writer queues for: under a burst of sign-ins, writers waited past the busy
timeout and answered 503 ("database is locked"), as the load soak showed.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any
from unittest.mock import patch

import httpx
from fastapi import FastAPI

from app.auth import service

PASSWORD = "correct horse battery"


def watching(app: FastAPI, real: Callable[..., Any], held: list[int]) -> Callable[..., Any]:
    """`real`, noting how many of the writer's connections are checked out when it runs."""
    pool = app.state.runtime.db.writer.pool

    def wrapper(*args: Any) -> Any:
        held.append(pool.checkedout())
        return real(*args)

    return wrapper


async def test_sign_up_and_sign_in_hash_without_holding_a_connection(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    held: list[int] = []
    with (
        patch.object(service, "hash_password", watching(app, service.hash_password, held)),
        patch.object(service, "verify_password", watching(app, service.verify_password, held)),
    ):
        r = await client.post(
            "/v1/auth/register", json={"email": "ada@example.com", "password": PASSWORD}
        )
        assert r.status_code == 201, r.text
        for password in (PASSWORD, "wrong password"):
            r = await client.post(
                "/v1/auth/token", data={"username": "ada@example.com", "password": password}
            )
            assert r.status_code == (200 if password == PASSWORD else 401), r.text
        r = await client.post(
            "/v1/auth/token", data={"username": "nobody@example.com", "password": PASSWORD}
        )
        assert r.status_code == 401
    assert held == [0, 0, 0, 0]


async def test_concurrent_sign_ins_check_one_password_at_a_time(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """A burst of sign-ins queues for the hashing thread instead of running dozens of Argon2
    computations at once, which starved every other request of CPU and grew memory by 19 MiB
    per thread."""
    r = await client.post(
        "/v1/auth/register", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert r.status_code == 201
    running, most = 0, 0
    lock = threading.Lock()
    real = service.verify_password

    def slow_verify(*args: Any) -> bool:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)  # long enough for the others to arrive, were they let through
        try:
            return real(*args)
        finally:
            with lock:
                running -= 1

    with patch.object(service, "verify_password", slow_verify):
        answers = await asyncio.gather(
            *(
                client.post(
                    "/v1/auth/token", data={"username": "ada@example.com", "password": PASSWORD}
                )
                for _ in range(8)
            )
        )
    assert [r.status_code for r in answers] == [200] * 8
    assert most == 1
