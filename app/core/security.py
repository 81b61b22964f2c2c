"""Password hashing and token handling, on pwdlib (Argon2id) and PyJWT."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import time
import uuid
from datetime import datetime, timedelta

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pydantic import SecretStr

# OWASP's Argon2id minimum: 19 MiB of memory, 2 iterations, 1 degree of parallelism.
_hasher = PasswordHash((Argon2Hasher(memory_cost=19 * 1024, time_cost=2, parallelism=1),))
# Verified against when the account does not exist, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    return _hasher.verify(password, password_hash)


def create_access_token(user_id: uuid.UUID, key: str, now: datetime, ttl: timedelta) -> str:
    claims = {
        "sub": str(user_id),
        "typ": "access",
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def decode_access_token(token: str, key: str) -> uuid.UUID | None:
    """The user id of a valid access token, else None (bad signature, `alg: none`, expired…)."""
    try:
        user_id, expires = _verified(token, key)
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    # PyJWT's own rule, re-checked on every use: a token verified while valid expires all
    # the same.
    if expires <= time.time():
        return None
    return user_id


@functools.lru_cache(maxsize=4096)
def _verified(token: str, key: str) -> tuple[uuid.UUID, int]:
    """The signature and claims checked once per token string: a client sends the same token
    with each request until it renews it, and checking it (base64, JSON, HMAC in Python) was
    a tenth of a small read's CPU under load. Failures raise, so they are never cached."""
    claims = jwt.decode(
        token, key, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "iat"]}
    )
    if claims.get("typ") != "access":
        raise jwt.InvalidTokenError("not an access token")
    return uuid.UUID(str(claims["sub"])), int(claims["exp"])


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Refresh tokens are stored only as this digest: a database leak does not leak sessions."""
    return hashlib.sha256(token.encode()).hexdigest()


def is_service_token(token: str | None, service_token: SecretStr | None) -> bool:
    """The bearer is the configured service credential (compared in constant time)."""
    if not token or service_token is None:
        return False
    return hmac.compare_digest(token.encode(), service_token.get_secret_value().encode())
