"""Idempotency-Key for POST, kept in the database so that it holds across replicas.

A key is reserved in its own short transaction before the request runs (so a concurrent
duplicate sees it and gets 409), and completed with the stored response inside the request's
own transaction (so the work and the record of it commit together or not at all). A request
that fails or is rejected releases its key: it is not remembered.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import JSON, LargeBinary, UniqueConstraint, delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from app.core.db import Database, UTCDateTime, utcnow
from app.core.errors import Conflict, IdempotencyKeyInFlight, IdempotencyKeyReused

MAX_KEY_LENGTH = 255
# Headers worth replaying; hop-by-hop and per-response headers are not.
# Cache-Control and Pragma too: a replayed secret (tokens, a feed URL) must stay uncached.
_REPLAYED_HEADERS = ("content-type", "location", "etag", "cache-control", "pragma")


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    scope: str = Field(max_length=64, description="The caller: a user id, or `anonymous`.")
    key: str = Field(max_length=MAX_KEY_LENGTH)
    request_hash: str = Field(max_length=64)
    locked_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    response_status: int | None = None
    response_headers: dict[str, str] | None = Field(default=None, sa_type=JSON)
    response_body: bytes | None = Field(default=None, sa_type=LargeBinary)


@dataclass(frozen=True)
class Reservation:
    record_id: uuid.UUID
    context: str  # scope and key, bound into the sealed response


def valid_key(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and key.isprintable() and key.isascii()


async def request_fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.url.path}?{request.url.query}\n".encode())
    body = await request.body()
    boundary = _multipart_boundary(request.headers.get("content-type"))
    if boundary:
        # A client builds a new boundary for every attempt (a retried import): the same parts
        # are the same request. The boundary cannot occur inside the parts, by its definition.
        body = body.replace(boundary, b"\x00boundary\x00")
    digest.update(body)
    return digest.hexdigest()


def _multipart_boundary(content_type: str | None) -> bytes | None:
    if not content_type or not content_type.lower().startswith("multipart/"):
        return None
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary" and value.strip('"'):
            return b"--" + value.strip('"').encode("latin-1", "replace")
    return None


class _Sealer:
    """Authenticated encryption of stored response bodies, bound to the key's scope."""

    def __init__(self, secret: str) -> None:
        key = hmac.new(secret.encode(), b"idempotency-responses", hashlib.sha256).digest()
        self._aead = AESGCM(key)

    def seal(self, body: bytes, context: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, body, context.encode())

    def open(self, sealed: bytes, context: str) -> bytes | None:
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], context.encode())
        except (InvalidTag, ValueError):
            return None


class IdempotencyStore:
    def __init__(self, db: Database, ttl: timedelta, lock: timedelta, secret: str) -> None:
        self.db = db
        self.ttl = ttl
        self.lock = lock
        self._sealer = _Sealer(secret)

    async def reserve(self, scope: str, key: str, fingerprint: str) -> Reservation | Response:
        """Reserve `key`, or answer the replay of the request that already used it."""
        for attempt in range(2):
            try:
                return await self._reserve_once(scope, key, fingerprint)
            except IntegrityError:
                # Another request inserted the same key between our read and write.
                if attempt:
                    raise Conflict(
                        "A request with this Idempotency-Key is still in progress."
                    ) from None
        raise AssertionError("unreachable")

    async def _reserve_once(self, scope: str, key: str, fingerprint: str) -> Reservation | Response:
        now = utcnow()
        async with self.db.write_sessions() as session, session.begin():
            stmt = select(IdempotencyRecord).where(
                col(IdempotencyRecord.scope) == scope, col(IdempotencyRecord.key) == key
            )
            if self.db.dialect == "postgresql":
                stmt = stmt.with_for_update()
            record = (await session.exec(stmt)).first()
            if record is not None and record.created_at + self.ttl < now:
                await session.delete(record)
                await session.flush()
                record = None
            if record is None:
                record = IdempotencyRecord(
                    scope=scope, key=key, request_hash=fingerprint, locked_at=now, created_at=now
                )
                session.add(record)
                await session.flush()
                return Reservation(record.id, f"{scope}:{key}")
            if record.request_hash != fingerprint:
                detail = (
                    "This Idempotency-Key was already used with a different request; "
                    "use a new key for a new request."
                )
                raise IdempotencyKeyReused(
                    detail,
                    errors=[
                        {
                            "field": "header.Idempotency-Key",
                            "message": detail,
                            "code": "idempotency_key_reused",
                        }
                    ],
                )
            if record.response_status is not None:
                body = self._sealer.open(record.response_body or b"", f"{scope}:{key}")
                if body is not None:
                    return _replay(record, body)
                # Sealed under another secret key (rotated): the first response cannot be
                # shown again, and acting twice is worse than refusing.
                raise Conflict(
                    "This Idempotency-Key was used before and its response cannot be replayed; "
                    "use a new key."
                )
            if record.locked_at + self.lock > now:
                raise IdempotencyKeyInFlight(
                    "A request with this Idempotency-Key is still in progress; retry shortly.",
                    headers={"Retry-After": "1"},
                )
            # The first attempt died without finishing: this one takes over.
            record.locked_at = now
            return Reservation(record.id, f"{scope}:{key}")

    async def complete(
        self, session: AsyncSession, reservation: Reservation, response: Response
    ) -> None:
        sealed = self._sealer.seal(bytes(response.body), reservation.context)
        headers = {
            name: response.headers[name] for name in _REPLAYED_HEADERS if name in response.headers
        }
        await session.exec(
            update(IdempotencyRecord)
            .where(col(IdempotencyRecord.id) == reservation.record_id)
            .values(
                response_status=response.status_code,
                response_headers=headers,
                response_body=sealed,
            )
        )

    async def release(self, reservation: Reservation) -> None:
        async with self.db.write_sessions() as session, session.begin():
            await session.exec(
                delete(IdempotencyRecord).where(col(IdempotencyRecord.id) == reservation.record_id)
            )


# Expired keys removed per all-users scheduler run; a backlog goes over the following runs.
PURGE_BATCH = 10_000


async def purge_expired(session: AsyncSession, ttl: timedelta) -> int:
    """Delete up to PURGE_BATCH keys older than `ttl` (they would no longer replay), skipping
    rows another runner holds. Without it every keyed write would keep its stored response
    forever. Returns the number removed."""
    doomed = (
        select(col(IdempotencyRecord.id))
        .where(col(IdempotencyRecord.created_at) < utcnow() - ttl)
        .limit(PURGE_BATCH)
        .with_for_update(skip_locked=True)
    )
    statement = delete(IdempotencyRecord).where(col(IdempotencyRecord.id).in_(doomed))
    result = await session.exec(statement)  # type: ignore[call-overload]
    return int(result.rowcount)


def _replay(record: IdempotencyRecord, body: bytes) -> Response:
    headers = dict(record.response_headers or {})
    headers["Idempotent-Replayed"] = "true"
    return Response(
        content=body,
        status_code=record.response_status or 200,
        headers=headers,
    )
