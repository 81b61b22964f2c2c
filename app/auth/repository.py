"""Queries for users, refresh tokens and login failures. Never commits."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.models import LoginFailure, RefreshToken, User
from app.core.db import session_dialect


async def get_user(session: AsyncSession, user_id: uuid.UUID, *, lock: bool = False) -> User | None:
    stmt = select(User).where(col(User.id) == user_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def get_timezone(session: AsyncSession, user_id: uuid.UUID) -> str | None:
    """The user's time zone (None: unset or no such user), without loading the user."""
    stmt = select(col(User.timezone)).where(col(User.id) == user_id)
    timezone: str | None = (await session.exec(stmt)).first()
    return timezone


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.exec(select(User).where(col(User.email) == email))).first()


async def claim_refresh_token(
    session: AsyncSession, token_hash: str, now: datetime
) -> tuple[uuid.UUID, uuid.UUID] | None:
    """Mark a live token used, atomically; (user_id, family_id) if this call won it."""
    stmt = (
        update(RefreshToken)
        .where(
            col(RefreshToken.token_hash) == token_hash,
            col(RefreshToken.used_at).is_(None),
            col(RefreshToken.revoked_at).is_(None),
            col(RefreshToken.expires_at) > now,
        )
        .values(used_at=now)
        .returning(col(RefreshToken.user_id), col(RefreshToken.family_id))
    )
    row = (await session.exec(stmt)).first()
    return (row[0], row[1]) if row else None


async def find_refresh_token(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    stmt = select(RefreshToken).where(col(RefreshToken.token_hash) == token_hash)
    return (await session.exec(stmt)).first()


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, now: datetime) -> None:
    await session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )


async def count_failures(
    session: AsyncSession, kind: str, subject: str, since: datetime
) -> tuple[int, datetime | None]:
    """How many failures since `since`, and the oldest of them.

    On PostgreSQL this first locks the subject until the transaction ends, so that attempts
    that count and then record a failure take turns: attempts at the same moment (on any
    replica) would otherwise all count below the limit and all get a password check. SQLite
    serialises write transactions already."""
    if session_dialect(session) == "postgresql":
        key = func.hashtextextended(f"login-failures:{kind}:{subject}", 0)
        await session.exec(select(func.pg_advisory_xact_lock(key)))
    stmt = select(func.count(), func.min(col(LoginFailure.failed_at))).where(
        col(LoginFailure.kind) == kind,
        col(LoginFailure.subject) == subject,
        col(LoginFailure.failed_at) >= since,
    )
    count, oldest = (await session.exec(stmt)).one()
    return int(count), oldest


def add_failure(session: AsyncSession, kind: str, subject: str, now: datetime) -> None:
    session.add(LoginFailure(kind=kind, subject=subject, failed_at=now))


async def forget_failures(
    session: AsyncSession, kind: str, subject: str, before: datetime | None = None
) -> None:
    stmt = delete(LoginFailure).where(
        col(LoginFailure.kind) == kind, col(LoginFailure.subject) == subject
    )
    if before is not None:
        stmt = stmt.where(col(LoginFailure.failed_at) < before)
    await session.exec(stmt)
