"""Password hashing and token primitives, without HTTP or a database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from app.core import security
from app.core.security import (
    create_access_token,
    decode_access_token,
    hash_password,
    new_refresh_token,
    token_digest,
    verify_password,
)

KEY = "unit-test-key-" + "k" * 50  # 64 bytes: long enough for HS512 too
TTL = timedelta(minutes=15)


def claims_for(user_id: uuid.UUID, **overrides: object) -> dict[str, object]:
    now = int(datetime.now(UTC).timestamp())
    claims: dict[str, object] = {
        "sub": str(user_id),
        "typ": "access",
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


# --- passwords ---------------------------------------------------------------------------


def test_password_hash_is_argon2id_salted_and_never_the_password():
    first = hash_password("correct horse battery")
    second = hash_password("correct horse battery")
    assert first.startswith("$argon2id$")
    assert "correct horse battery" not in first
    assert first != second  # a fresh salt each time


def test_password_verifies_only_with_the_same_password():
    stored = hash_password("correct horse battery")
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse battery!", stored)
    assert not verify_password("Correct horse battery", stored)


def test_verifying_against_a_missing_account_is_always_false():
    assert verify_password("anything at all", None) is False


# --- access tokens -----------------------------------------------------------------------


def test_access_token_round_trips_to_its_user_id():
    user_id = uuid.uuid4()
    token = create_access_token(user_id, KEY, datetime.now(UTC), TTL)
    assert decode_access_token(token, KEY) == user_id


def test_access_token_carries_issue_and_expiry_times_from_now_and_ttl():
    now = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    token = create_access_token(uuid.uuid4(), KEY, now, TTL)
    claims = jwt.decode(token, KEY, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["iat"] == int(now.timestamp())
    assert claims["exp"] == int((now + TTL).timestamp())
    assert claims["typ"] == "access"


def test_two_access_tokens_issued_in_the_same_second_differ():
    user_id, now = uuid.uuid4(), datetime.now(UTC)
    assert create_access_token(user_id, KEY, now, TTL) != create_access_token(
        user_id, KEY, now, TTL
    )


def test_access_token_signed_with_another_key_is_rejected():
    token = create_access_token(uuid.uuid4(), "another-key-" + "z" * 40, datetime.now(UTC), TTL)
    assert decode_access_token(token, KEY) is None


def test_expired_access_token_is_rejected():
    issued = datetime.now(UTC) - timedelta(hours=1)
    token = create_access_token(uuid.uuid4(), KEY, issued, TTL)
    assert decode_access_token(token, KEY) is None


def test_a_token_accepted_before_is_refused_once_it_expires(monkeypatch: pytest.MonkeyPatch):
    """Each token's signature is checked once (app/core/security.py caches the result); its
    expiry is checked on every use."""
    user_id = uuid.uuid4()
    now = datetime.now(UTC)
    token = create_access_token(user_id, KEY, now, TTL)
    assert decode_access_token(token, KEY) == user_id
    expires = int((now + TTL).timestamp())
    monkeypatch.setattr(security.time, "time", lambda: expires - 0.5)
    assert decode_access_token(token, KEY) == user_id
    monkeypatch.setattr(security.time, "time", lambda: float(expires))
    assert decode_access_token(token, KEY) is None
    # Nor does the cache answer for another key.
    assert decode_access_token(token, "another-key-" + "k" * 50) is None


def test_unsigned_alg_none_token_is_rejected():
    token = jwt.encode(claims_for(uuid.uuid4()), None, algorithm="none")
    assert decode_access_token(token, KEY) is None


def test_token_signed_with_another_hmac_algorithm_is_rejected():
    token = jwt.encode(claims_for(uuid.uuid4()), KEY, algorithm="HS512")
    assert decode_access_token(token, KEY) is None


def test_tampered_access_token_payload_is_rejected():
    token = create_access_token(uuid.uuid4(), KEY, datetime.now(UTC), TTL)
    header, _payload, signature = token.split(".")
    forged = jwt.encode(claims_for(uuid.uuid4()), KEY, algorithm="HS256").split(".")[1]
    assert decode_access_token(f"{header}.{forged}.{signature}", KEY) is None


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"typ": None}, id="no-typ"),
        pytest.param({"typ": "refresh"}, id="typ-refresh"),
        pytest.param({"sub": None}, id="no-sub"),
        pytest.param({"sub": "not-a-uuid"}, id="sub-not-uuid"),
        pytest.param({"exp": None}, id="no-exp"),
        pytest.param({"iat": None}, id="no-iat"),
    ],
)
def test_correctly_signed_token_without_valid_access_claims_is_rejected(overrides):
    token = jwt.encode(claims_for(uuid.uuid4(), **overrides), KEY, algorithm="HS256")
    assert decode_access_token(token, KEY) is None


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "....", "Bearer x"])
def test_malformed_access_token_is_rejected_without_raising(token):
    assert decode_access_token(token, KEY) is None


# --- refresh tokens ----------------------------------------------------------------------


def test_refresh_tokens_are_long_random_and_url_safe():
    tokens = {new_refresh_token() for _ in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert len(token) >= 43  # 32 random bytes
        assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_token_digest_is_a_stable_sha256_hex_that_hides_the_token():
    token = new_refresh_token()
    digest = token_digest(token)
    assert digest == token_digest(token)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert token not in digest
    assert token_digest(token + "x") != digest
