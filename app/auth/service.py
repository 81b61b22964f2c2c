"""Accounts and sessions: registration, login with throttling, refresh-token rotation."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import repository as repo
from app.auth.models import RefreshToken, TokenPair, User, UserRegister, UserUpdate
from app.core.config import Settings
from app.core.db import utcnow
from app.core.errors import Conflict, NotFound, TooManyRequests, Unauthorized
from app.core.etags import IfMatch
from app.core.patch import apply_merge_patch
from app.core.security import (
    create_access_token,
    hash_password,
    new_refresh_token,
    token_digest,
    verify_password,
)

ACCOUNT, ADDRESS = "account", "address"

T = TypeVar("T")

# Argon2id costs tens of milliseconds of CPU and 19 MiB per call, by design. In the shared
# thread pool (40 threads) a burst of sign-ins ran dozens at once: the event loop starved of CPU,
# requests holding SQLite's write lock with it, and each thread's malloc arena kept its 19 MiB.
# One thread per process: sign-ins queue among themselves, in order, and the other requests keep
# their CPU. (Deployments run a process per core, so sign-ins still use every core.)
_PASSWORD_HASHING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="argon2")


async def _hashing(function: Callable[..., T], *args: str | None) -> T:
    """`function(*args)` on the password-hashing thread, off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_PASSWORD_HASHING, function, *args)


async def register(session: AsyncSession, data: UserRegister) -> User:
    # Hashed before the first query, so that no transaction is open meanwhile (on SQLite it
    # would hold the write lock).
    password_hash = await _hashing(hash_password, data.password)
    if await repo.get_user_by_email(session, data.email) is not None:
        raise Conflict("An account with this email already exists.")
    now = utcnow()
    user = User(
        created_at=now,
        updated_at=now,
        email=data.email,
        password_hash=password_hash,
        display_name=data.display_name,
        timezone=data.timezone,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("An account with this email already exists.") from None
    return user


async def _issue(
    session: AsyncSession, settings: Settings, user_id: uuid.UUID, family_id: uuid.UUID
) -> TokenPair:
    now = utcnow()
    refresh = new_refresh_token()
    session.add(
        RefreshToken(
            user_id=user_id,
            family_id=family_id,
            token_hash=token_digest(refresh),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.refresh_token_ttl_seconds),
        )
    )
    ttl = timedelta(seconds=settings.access_token_ttl_seconds)
    return TokenPair(
        access_token=create_access_token(user_id, settings.signing_key, now, ttl),
        refresh_token=refresh,
        expires_in=settings.access_token_ttl_seconds,
    )


async def _throttle(
    session: AsyncSession, kind: str, subject: str, limit: int, window: timedelta, now: datetime
) -> None:
    count, oldest = await repo.count_failures(session, kind, subject, now - window)
    if count >= limit and oldest is not None:
        retry_after = int((oldest + window - now).total_seconds()) + 1
        raise TooManyRequests(
            "Too many failed logins; wait before trying again.", retry_after=retry_after
        )


async def login(
    session: AsyncSession,
    settings: Settings,
    email: str,
    password: str,
    address: str,
) -> TokenPair:
    now = utcnow()
    window = timedelta(seconds=settings.login_window_seconds)
    # Lower-casing can lengthen a string ("İ"); no account's email is longer than the column.
    email = email.strip().lower()[:320]

    async def throttle() -> None:
        limits = settings.login_max_failures_per_account, settings.login_max_failures_per_address
        await _throttle(session, ACCOUNT, email, limits[0], window, now)
        await _throttle(session, ADDRESS, address, limits[1], window, now)

    await throttle()  # a throttled attempt costs no password check
    user = await repo.get_user_by_email(session, email)
    # The password check takes tens of milliseconds of CPU: end the transaction first (nothing
    # is written yet), so that it holds no connection and, on SQLite, not the write lock that
    # every other writer waits for. A burst of sign-ins otherwise stalls all writes.
    await session.commit()
    valid = await _hashing(verify_password, password, user.password_hash if user else None)
    # Again, in the transaction that records the outcome: failures recorded by concurrent
    # attempts while this password was checked count too.
    await throttle()
    if user is None or not valid:
        for kind, subject in ((ACCOUNT, email), (ADDRESS, address)):
            await repo.forget_failures(session, kind, subject, before=now - window)
            repo.add_failure(session, kind, subject, now)
        raise Unauthorized("The email or password is incorrect.", commit=True)

    await repo.forget_failures(session, ACCOUNT, email)
    return await _issue(session, settings, user.id, family_id=uuid.uuid4())


async def refresh(session: AsyncSession, settings: Settings, refresh_token: str) -> TokenPair:
    now = utcnow()
    digest = token_digest(refresh_token)
    claimed = await repo.claim_refresh_token(session, digest, now)
    if claimed is not None:
        user_id, family_id = claimed
        return await _issue(session, settings, user_id, family_id)

    known = await repo.find_refresh_token(session, digest)
    if known is not None and known.used_at is not None and known.revoked_at is None:
        # A rotated token came back: it was stolen or replayed. End the whole session family.
        await repo.revoke_family(session, known.family_id, now)
        raise Unauthorized("This refresh token was already used; sign in again.", commit=True)
    raise Unauthorized("The refresh token is invalid, expired or revoked; sign in again.")


async def get_me(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await repo.get_user(session, user_id)
    if user is None:
        raise NotFound("The account of this token no longer exists.")
    return user


async def update_me(
    session: AsyncSession, user_id: uuid.UUID, patch: UserUpdate, if_match: IfMatch
) -> User:
    user = await repo.get_user(session, user_id, lock=True)
    if user is None:
        raise NotFound("The account of this token no longer exists.")
    if_match.check(user.version)
    changes = patch.model_dump(exclude_unset=True)
    new_email = changes.get("email")
    if (
        new_email is not None
        and new_email != user.email
        and await repo.get_user_by_email(session, new_email) is not None
    ):
        raise Conflict("An account with this email already exists.")
    if apply_merge_patch(user, changes, required={"email", "timezone"}):
        user.updated_at = utcnow()
        user.version += 1
        session.add(user)
        await session.flush()
    return user
