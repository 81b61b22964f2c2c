"""Accounts over HTTP: register, sign in, throttling, refresh rotation, tokens, /v1/me."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from app.core.config import Settings
from app.core.security import create_access_token
from app.main import create_app
from tests.conftest import SECRET, sign_up

PROBLEM = "application/problem+json"
PASSWORD = "correct horse battery"  # what `sign_up` (and so `alice` and `bob`) use


def assert_problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status
    assert body["type"] and body["title"] and body["detail"]
    return body


def assert_unauthorized(r: httpx.Response) -> dict:
    body = assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")
    return body


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def error_fields(body: dict) -> list[str]:
    return [error["field"] for error in body["errors"]]


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/v1/auth/token", data={"username": email, "password": password})


async def tokens(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict:
    r = await login(client, email, password)
    assert r.status_code == 200, r.text
    return r.json()


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post("/v1/auth/refresh", json={"refresh_token": refresh_token})


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


@contextlib.asynccontextmanager
async def instance(
    database_url: str, *, address: str = "127.0.0.1", **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """Another app instance (a replica) on the test database, seen from client `address`."""
    application = create_app(Settings(database_url=database_url, secret_key=SECRET, **settings))
    transport = httpx.ASGITransport(app=application, client=(address, 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://rapport.test") as c:
            yield c
    finally:
        await application.state.runtime.db.dispose()


# --- register ----------------------------------------------------------------------------


async def test_register_returns_201_with_location_etag_and_the_user(client):
    body = {
        "email": "Ada@Example.com",
        "password": "correct horse battery staple",
        "display_name": "Ada",
        "timezone": "Europe/London",
    }
    r = await client.post("/v1/auth/register", json=body)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == "/v1/me"
    assert r.headers["etag"] == '"1"'
    user = r.json()
    uuid.UUID(user["id"])
    assert user["email"] == "ada@example.com"
    assert user["display_name"] == "Ada"
    assert user["timezone"] == "Europe/London"
    assert user["version"] == 1
    assert user["created_at"].endswith("Z") and user["updated_at"].endswith("Z")


async def test_register_never_returns_the_password_or_its_hash(client):
    password = "a very particular passphrase"
    r = await client.post(
        "/v1/auth/register", json={"email": "ada@example.com", "password": password}
    )
    assert r.status_code == 201
    assert set(r.json()) == {
        "id",
        "email",
        "display_name",
        "timezone",
        "created_at",
        "updated_at",
        "version",
    }
    assert password not in r.text
    assert "password" not in r.text
    assert "$argon2" not in r.text


async def test_register_defaults_timezone_to_utc_and_display_name_to_null(client):
    r = await client.post(
        "/v1/auth/register", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert r.status_code == 201
    assert r.json()["timezone"] == "UTC"
    assert r.json()["display_name"] is None


async def test_registered_user_can_sign_in_and_read_themselves(client):
    headers = await sign_up(client, "ada@example.com")
    r = await client.get("/v1/me", headers=headers)
    assert r.status_code == 200
    assert r.json()["email"] == "ada@example.com"


@pytest.mark.parametrize("second", ["ada@example.com", "ADA@example.COM", "Ada@Example.Com"])
async def test_register_with_an_existing_email_in_any_case_is_409(client, second):
    r = await client.post(
        "/v1/auth/register", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert r.status_code == 201
    r = await client.post("/v1/auth/register", json={"email": second, "password": "other pass 1"})
    assert_problem(r, 409)
    # The first account still signs in with its own password.
    assert (await login(client, "ada@example.com")).status_code == 200


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"password": "1234567"}, "body.password", id="password-too-short"),
        pytest.param({"password": "x" * 257}, "body.password", id="password-too-long"),
        pytest.param({"email": "not-an-email"}, "body.email", id="invalid-email"),
        pytest.param({"email": "a" * 320 + "@example.com"}, "body.email", id="email-too-long"),
        pytest.param({"role": "admin"}, "body.role", id="unknown-field"),
        pytest.param({"display_name": "Ada\x00"}, "body.display_name", id="nul-in-display-name"),
        pytest.param({"display_name": "x" * 101}, "body.display_name", id="display-name-long"),
        pytest.param({"timezone": "Mars/Olympus_Mons"}, "body.timezone", id="unknown-timezone"),
        pytest.param({"timezone": "+02:00"}, "body.timezone", id="offset-not-zone"),
        pytest.param({"email": None}, "body.email", id="email-null"),
    ],
)
async def test_register_with_invalid_input_is_422_naming_the_field(client, changes, field):
    body = {"email": "ada@example.com", "password": PASSWORD, **changes}
    r = await client.post("/v1/auth/register", json=body)
    problem = assert_problem(r, 422)
    assert field in error_fields(problem)
    # Nothing was created: the same email can still register.
    r = await client.post(
        "/v1/auth/register", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert r.status_code == 201


@pytest.mark.parametrize("missing", ["email", "password"])
async def test_register_without_a_required_field_is_422_naming_it(client, missing):
    body = {"email": "ada@example.com", "password": PASSWORD}
    del body[missing]
    problem = assert_problem(await client.post("/v1/auth/register", json=body), 422)
    assert f"body.{missing}" in error_fields(problem)


async def test_register_with_malformed_json_is_422_not_500(client):
    r = await client.post(
        "/v1/auth/register",
        content=b'{"email": "ada@example.com", ',
        headers={"Content-Type": "application/json"},
    )
    assert_problem(r, 422)


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "application/xml"]
)
async def test_register_with_a_non_json_content_type_is_415(client, content_type):
    r = await client.post(
        "/v1/auth/register",
        content=b'{"email": "ada@example.com", "password": "correct horse battery"}',
        headers={"Content-Type": content_type},
    )
    assert_problem(r, 415)
    assert (await login(client, "ada@example.com")).status_code == 401


# --- token -------------------------------------------------------------------------------


async def test_token_returns_a_bearer_pair_that_must_not_be_cached(client, alice):
    r = await login(client, "alice@example.com")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert "no-store" in r.headers["cache-control"]
    pair = r.json()
    assert set(pair) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert pair["token_type"] == "bearer"
    assert isinstance(pair["expires_in"], int) and 0 < pair["expires_in"] <= 900
    assert pair["access_token"] and pair["refresh_token"]
    assert pair["access_token"] != pair["refresh_token"]
    me = await client.get("/v1/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == "alice@example.com"


async def test_access_token_expires_no_later_than_expires_in(client, alice):
    before = int(datetime.now(UTC).timestamp())
    pair = await tokens(client, "alice@example.com")
    claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
    assert claims["exp"] <= before + pair["expires_in"] + 2


async def test_token_username_is_matched_case_insensitively(client, alice):
    assert (await login(client, "  ALICE@Example.COM ")).status_code == 200


async def test_each_sign_in_returns_different_tokens(client, alice):
    first = await tokens(client, "alice@example.com")
    second = await tokens(client, "alice@example.com")
    assert first["access_token"] != second["access_token"]
    assert first["refresh_token"] != second["refresh_token"]


async def test_token_with_wrong_password_or_unknown_email_is_the_same_401(client, alice):
    wrong = await login(client, "alice@example.com", "not the password")
    unknown = await login(client, "nobody@example.com")
    for r in (wrong, unknown):
        assert_unauthorized(r)
        assert "access_token" not in r.text
    # Nothing tells an attacker whether the account exists (each answer has its own request id).
    assert {**wrong.json(), "request_id": None} == {**unknown.json(), "request_id": None}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param({"password": PASSWORD}, "body.username", id="no-username"),
        pytest.param({"username": "alice@example.com"}, "body.password", id="no-password"),
    ],
)
async def test_token_with_a_missing_form_field_is_422_naming_it(client, alice, data, field):
    problem = assert_problem(await client.post("/v1/auth/token", data=data), 422)
    assert field in error_fields(problem)


async def test_token_sent_as_json_instead_of_a_form_is_422(client, alice):
    r = await client.post(
        "/v1/auth/token", json={"username": "alice@example.com", "password": PASSWORD}
    )
    assert_problem(r, 422)


@pytest.mark.parametrize(
    "username",
    [
        pytest.param("a" * 400 + "@example.com", id="longer-than-any-email"),
        pytest.param("alice\x00@example.com", id="nul-byte"),
        pytest.param("x" * 20_000, id="very-long"),
    ],
)
async def test_token_with_an_impossible_username_is_422_not_500(client, alice, username):
    problem = assert_problem(await login(client, username), 422)
    assert "body.username" in error_fields(problem)
    # The real account is unaffected.
    assert (await login(client, "alice@example.com")).status_code == 200


async def test_token_with_a_name_that_grows_when_lower_cased_is_401_not_500(client, alice):
    # Within the form's 320 characters, but "İ".lower() is two characters: the service must
    # still be able to record the failure.
    assert_problem(await login(client, "\u0130" * 200), 401)


# --- throttling --------------------------------------------------------------------------


def assert_throttled(r: httpx.Response, window_seconds: int = 900) -> int:
    assert_problem(r, 429)
    retry_after = r.headers["retry-after"]
    assert retry_after.isdigit(), retry_after
    assert 1 <= int(retry_after) <= window_seconds + 1
    assert "access_token" not in r.text
    return int(retry_after)


async def test_eleventh_attempt_after_ten_failures_is_429_even_with_the_right_password(
    client, alice
):
    for attempt in range(10):
        # Failures count per account whatever the case of the email typed.
        email = "alice@example.com" if attempt % 2 else "Alice@Example.com"
        assert_unauthorized(await login(client, email, f"wrong password {attempt}"))
    assert_throttled(await login(client, "alice@example.com"))
    assert_throttled(await login(client, "alice@example.com", "still wrong"))


async def test_throttling_one_account_leaves_other_accounts_alone(client, alice, bob):
    for attempt in range(10):
        await login(client, "alice@example.com", f"wrong password {attempt}")
    assert_throttled(await login(client, "alice@example.com"))
    assert (await login(client, "bob@example.com")).status_code == 200


async def test_failures_against_an_unknown_email_are_throttled_too(client):
    for attempt in range(10):
        assert_unauthorized(await login(client, "ghost@example.com", f"guess {attempt}"))
    assert_throttled(await login(client, "ghost@example.com"))


async def test_successful_sign_in_forgets_the_accounts_earlier_failures(client, alice):
    for attempt in range(9):
        assert_unauthorized(await login(client, "alice@example.com", f"wrong {attempt}"))
    assert (await login(client, "alice@example.com")).status_code == 200
    # The counter restarted: ten more failures are plain 401s, the eleventh is throttled.
    for attempt in range(10):
        assert_unauthorized(await login(client, "alice@example.com", f"again {attempt}"))
    assert_throttled(await login(client, "alice@example.com"))


async def test_successful_sign_ins_never_count_against_the_limit(client, alice):
    for _ in range(12):
        assert (await login(client, "alice@example.com")).status_code == 200


async def test_throttled_account_signs_in_again_once_the_window_passes(client, database_url):
    await sign_up(client, "ada@example.com")
    async with instance(
        database_url, login_window_seconds=1, login_max_failures_per_account=2
    ) as replica:
        for attempt in range(2):
            assert_unauthorized(await login(replica, "ada@example.com", f"wrong {attempt}"))
        assert_throttled(await login(replica, "ada@example.com"), window_seconds=1)
        await asyncio.sleep(1.2)
        assert (await login(replica, "ada@example.com")).status_code == 200


async def test_failures_from_one_address_against_many_accounts_hit_the_address_limit(
    client, database_url
):
    for name in ("ada", "grace", "linus", "barbara"):
        await sign_up(client, f"{name}@example.com")
    async with instance(database_url, login_max_failures_per_address=3) as replica:
        for name in ("ada", "grace", "linus"):
            assert_unauthorized(await login(replica, f"{name}@example.com", "wrong password"))
        # A fourth account, never failed against, with its right password: the address is
        # throttled.
        assert_throttled(await login(replica, "barbara@example.com"))
    # Another address is not.
    async with instance(
        database_url, address="203.0.113.7", login_max_failures_per_address=3
    ) as elsewhere:
        assert (await login(elsewhere, "barbara@example.com")).status_code == 200


async def test_successful_sign_in_does_not_reset_the_address_counter(client, database_url):
    for name in ("ada", "grace", "linus", "barbara"):
        await sign_up(client, f"{name}@example.com")
    async with instance(database_url, login_max_failures_per_address=3) as replica:
        assert_unauthorized(await login(replica, "ada@example.com", "wrong password"))
        assert_unauthorized(await login(replica, "grace@example.com", "wrong password"))
        # An attacker's own valid account cannot wipe the address's record of guesses.
        assert (await login(replica, "barbara@example.com")).status_code == 200
        assert_unauthorized(await login(replica, "linus@example.com", "wrong password"))
        assert_throttled(await login(replica, "barbara@example.com"))


async def test_successful_sign_ins_never_count_against_the_address_limit(client, database_url):
    await sign_up(client, "ada@example.com")
    async with instance(database_url, login_max_failures_per_address=3) as replica:
        for _ in range(6):
            assert (await login(replica, "ada@example.com")).status_code == 200


async def test_throttling_is_shared_by_every_instance_on_the_database(client, alice, database_url):
    async with instance(database_url) as replica:
        for attempt in range(5):
            assert_unauthorized(await login(client, "alice@example.com", f"wrong {attempt}"))
            assert_unauthorized(await login(replica, "alice@example.com", f"again {attempt}"))
        # Ten failures split across two instances: both now refuse the account.
        assert_throttled(await login(replica, "alice@example.com"))
        assert_throttled(await login(client, "alice@example.com"))


# --- refresh -----------------------------------------------------------------------------


async def test_refresh_returns_a_new_working_pair_that_must_not_be_cached(client, alice):
    first = await tokens(client, "alice@example.com")
    r = await refresh(client, first["refresh_token"])
    assert r.status_code == 200, r.text
    assert "no-store" in r.headers["cache-control"]
    second = r.json()
    assert second["token_type"] == "bearer"
    assert 0 < second["expires_in"] <= 900
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    me = await client.get("/v1/me", headers=bearer(second["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == "alice@example.com"


async def test_refresh_token_works_only_once(client, alice):
    first = await tokens(client, "alice@example.com")
    assert (await refresh(client, first["refresh_token"])).status_code == 200
    assert_unauthorized(await refresh(client, first["refresh_token"]))


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_sign_in(client, alice):
    first = await tokens(client, "alice@example.com")
    second = (await refresh(client, first["refresh_token"])).json()
    third = (await refresh(client, second["refresh_token"])).json()
    # The first token comes back (stolen, or replayed): the whole family is revoked...
    assert_unauthorized(await refresh(client, first["refresh_token"]))
    # ...including the newest token of that sign-in, which was still unused.
    assert_unauthorized(await refresh(client, third["refresh_token"]))


async def test_revoking_one_sign_in_leaves_other_sign_ins_working(client, alice):
    phone = await tokens(client, "alice@example.com")
    laptop = await tokens(client, "alice@example.com")
    rotated = (await refresh(client, phone["refresh_token"])).json()
    assert_unauthorized(await refresh(client, phone["refresh_token"]))
    assert_unauthorized(await refresh(client, rotated["refresh_token"]))
    assert (await refresh(client, laptop["refresh_token"])).status_code == 200


@pytest.mark.parametrize("token", ["garbage", "x" * 512, "eyJhbGciOiJIUzI1NiJ9.e30.sig"])
async def test_refresh_with_an_unknown_token_is_401(client, alice, token):
    assert_unauthorized(await refresh(client, token))


async def test_refresh_with_an_access_token_is_401(client, alice):
    pair = await tokens(client, "alice@example.com")
    assert_unauthorized(await refresh(client, pair["access_token"]))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({}, "body.refresh_token", id="missing"),
        pytest.param({"refresh_token": ""}, "body.refresh_token", id="empty"),
        pytest.param({"refresh_token": "x" * 513}, "body.refresh_token", id="too-long"),
        pytest.param({"refresh_token": None}, "body.refresh_token", id="null"),
        pytest.param({"refresh_token": 42}, "body.refresh_token", id="number"),
        pytest.param({"refresh_token": "x", "user_id": "y"}, "body.user_id", id="extra-field"),
    ],
)
async def test_refresh_with_an_invalid_body_is_422_naming_the_field(client, body, field):
    problem = assert_problem(await client.post("/v1/auth/refresh", json=body), 422)
    assert field in error_fields(problem)


async def test_refresh_with_a_form_body_is_415(client, alice):
    pair = await tokens(client, "alice@example.com")
    r = await client.post("/v1/auth/refresh", data={"refresh_token": pair["refresh_token"]})
    assert_problem(r, 415)
    # The rejected request did not use the token up.
    assert (await refresh(client, pair["refresh_token"])).status_code == 200


# --- access tokens -----------------------------------------------------------------------


async def test_me_without_authorization_is_401_with_a_bearer_challenge(client, alice):
    assert_unauthorized(await client.get("/v1/me"))
    assert_unauthorized(await client.patch("/v1/me", json={"display_name": "x"}))


async def test_me_with_a_non_bearer_scheme_is_401(client, alice):
    r = await client.get("/v1/me", headers={"Authorization": "Basic YWxpY2U6cGFzc3dvcmQ="})
    assert_unauthorized(r)


_TTL = timedelta(minutes=15)


async def my_id(client: httpx.AsyncClient, headers: dict[str, str]) -> uuid.UUID:
    return uuid.UUID((await client.get("/v1/me", headers=headers)).json()["id"])


def _claims(user_id: uuid.UUID) -> dict[str, object]:
    now = int(datetime.now(UTC).timestamp())
    return {"sub": str(user_id), "typ": "access", "iat": now, "exp": now + 600}


def _other_key(user_id: uuid.UUID) -> str:
    return create_access_token(user_id, "not-the-secret-" + "y" * 40, datetime.now(UTC), _TTL)


def _alg_none(user_id: uuid.UUID) -> str:
    return jwt.encode(_claims(user_id), None, algorithm="none")


def _expired(user_id: uuid.UUID) -> str:
    return create_access_token(user_id, SECRET, datetime.now(UTC) - timedelta(hours=1), _TTL)


def _not_access(user_id: uuid.UUID) -> str:
    return jwt.encode({**_claims(user_id), "typ": "refresh"}, SECRET, algorithm="HS256")


def _garbage(user_id: uuid.UUID) -> str:
    return "garbage"


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(_garbage, id="garbage"),
        pytest.param(_other_key, id="signed-with-another-key"),
        pytest.param(_alg_none, id="alg-none"),
        pytest.param(_expired, id="expired"),
        pytest.param(_not_access, id="typ-not-access"),
    ],
)
async def test_me_with_an_invalid_access_token_is_401(client, alice, forge):
    token = forge(await my_id(client, alice))
    r = await client.get("/v1/me", headers=bearer(token))
    assert_unauthorized(r)
    assert "alice@example.com" not in r.text


async def test_a_token_from_the_real_key_with_a_current_time_is_accepted(client, alice):
    # The control for the forgeries above: same construction, valid inputs.
    token = create_access_token(await my_id(client, alice), SECRET, datetime.now(UTC), _TTL)
    assert (await client.get("/v1/me", headers=bearer(token))).status_code == 200


async def test_refresh_token_used_as_a_bearer_token_is_401(client, alice):
    pair = await tokens(client, "alice@example.com")
    assert_unauthorized(await client.get("/v1/me", headers=bearer(pair["refresh_token"])))


# --- /v1/me ------------------------------------------------------------------------------


async def test_get_me_returns_the_caller_with_an_etag(client, alice, bob):
    r = await client.get("/v1/me", headers=alice)
    assert r.status_code == 200
    assert r.headers["etag"] == '"1"'
    me = r.json()
    assert me["email"] == "alice@example.com"
    assert me["version"] == 1
    assert "password" not in r.text and "$argon2" not in r.text
    assert (await client.get("/v1/me", headers=bob)).json()["email"] == "bob@example.com"


async def test_get_me_with_the_current_etag_is_304_without_a_body(client, alice):
    etag = (await client.get("/v1/me", headers=alice)).headers["etag"]
    r = await client.get("/v1/me", headers={**alice, "If-None-Match": etag})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == etag


async def test_get_me_with_a_stale_etag_returns_the_new_representation(client, alice):
    etag = (await client.get("/v1/me", headers=alice)).headers["etag"]
    await client.patch("/v1/me", json={"display_name": "Alice"}, headers=alice)
    r = await client.get("/v1/me", headers={**alice, "If-None-Match": etag})
    assert r.status_code == 200
    assert r.json()["display_name"] == "Alice"
    assert r.headers["etag"] != etag


@pytest.mark.parametrize("content_type", ["application/json", "application/merge-patch+json"])
async def test_patch_me_sets_then_clears_display_name_bumping_version(client, alice, content_type):
    headers = {**alice, "Content-Type": content_type}
    r = await client.patch("/v1/me", content=b'{"display_name": "Alice L."}', headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["display_name"] == "Alice L."
    assert r.json()["version"] == 2
    assert r.headers["etag"] == '"2"'
    r = await client.patch("/v1/me", content=b'{"display_name": null}', headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["display_name"] is None
    assert r.json()["version"] == 3
    assert r.headers["etag"] == '"3"'
    me = (await client.get("/v1/me", headers=alice)).json()
    assert me["display_name"] is None
    assert me["version"] == 3


async def test_patch_me_leaves_absent_fields_unchanged(client, alice):
    await client.patch(
        "/v1/me", json={"display_name": "Alice", "timezone": "Europe/Paris"}, headers=alice
    )
    r = await client.patch("/v1/me", json={"timezone": "Asia/Tokyo"}, headers=alice)
    assert r.status_code == 200
    assert r.json()["display_name"] == "Alice"
    assert r.json()["timezone"] == "Asia/Tokyo"
    assert r.json()["email"] == "alice@example.com"


async def test_patch_me_updates_updated_at_but_not_created_at(client, alice):
    before = (await client.get("/v1/me", headers=alice)).json()
    after = (await client.patch("/v1/me", json={"display_name": "A"}, headers=alice)).json()
    assert after["created_at"] == before["created_at"]
    assert parse_time(after["updated_at"]) >= parse_time(before["updated_at"])
    assert after["id"] == before["id"]


async def test_patch_me_that_changes_nothing_keeps_the_version(client, alice):
    r = await client.patch("/v1/me", json={"timezone": "UTC"}, headers=alice)
    assert r.status_code == 200
    assert r.json()["version"] == 1
    assert r.headers["etag"] == '"1"'
    r = await client.patch("/v1/me", json={}, headers=alice)
    assert r.json()["version"] == 1


@pytest.mark.parametrize("field", ["timezone", "email"])
async def test_patch_me_clearing_a_required_field_is_422(client, alice, field):
    problem = assert_problem(await client.patch("/v1/me", json={field: None}, headers=alice), 422)
    assert f"body.{field}" in error_fields(problem)
    me = (await client.get("/v1/me", headers=alice)).json()
    assert me["timezone"] == "UTC" and me["email"] == "alice@example.com"
    assert me["version"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"timezone": "Europe/Atlantis"}, "body.timezone", id="unknown-timezone"),
        pytest.param({"email": "nope"}, "body.email", id="invalid-email"),
        pytest.param({"display_name": "A\x00"}, "body.display_name", id="nul"),
        pytest.param({"display_name": "x" * 101}, "body.display_name", id="too-long"),
        pytest.param({"id": str(uuid.uuid4())}, "body.id", id="id"),
        pytest.param({"version": 7}, "body.version", id="version"),
        pytest.param({"created_at": "2020-01-01T00:00:00Z"}, "body.created_at", id="created"),
        pytest.param({"updated_at": "2020-01-01T00:00:00Z"}, "body.updated_at", id="updated"),
        pytest.param({"password_hash": "x"}, "body.password_hash", id="password-hash"),
    ],
)
async def test_patch_me_with_invalid_or_server_owned_fields_is_422(client, alice, body, field):
    before = (await client.get("/v1/me", headers=alice)).json()
    problem = assert_problem(await client.patch("/v1/me", json=body, headers=alice), 422)
    assert field in error_fields(problem)
    assert (await client.get("/v1/me", headers=alice)).json() == before


async def test_patch_me_with_a_non_json_content_type_is_415(client, alice):
    r = await client.patch(
        "/v1/me",
        content=b'{"display_name": "x"}',
        headers={**alice, "Content-Type": "text/plain"},
    )
    assert_problem(r, 415)
    assert (await client.get("/v1/me", headers=alice)).json()["display_name"] is None


@pytest.mark.parametrize("email", ["bob@example.com", "BOB@Example.com"])
async def test_patch_me_to_another_users_email_is_409(client, alice, bob, email):
    r = await client.patch("/v1/me", json={"email": email}, headers=alice)
    assert_problem(r, 409)
    me = (await client.get("/v1/me", headers=alice)).json()
    assert me["email"] == "alice@example.com" and me["version"] == 1
    assert (await login(client, "bob@example.com")).status_code == 200


async def test_patch_me_email_is_lower_cased_and_becomes_the_sign_in_name(client, alice):
    r = await client.patch("/v1/me", json={"email": "Alice.New@Example.com"}, headers=alice)
    assert r.status_code == 200, r.text
    assert r.json()["email"] == "alice.new@example.com"
    assert (await login(client, "alice.new@example.com")).status_code == 200
    assert_unauthorized(await login(client, "alice@example.com"))


async def test_patch_me_with_a_stale_if_match_is_412_and_changes_nothing(client, alice):
    stale = (await client.get("/v1/me", headers=alice)).headers["etag"]
    r = await client.patch("/v1/me", json={"display_name": "First"}, headers=alice)
    assert r.status_code == 200
    r = await client.patch(
        "/v1/me",
        json={"display_name": "Second", "timezone": "Asia/Tokyo"},
        headers={**alice, "If-Match": stale},
    )
    assert_problem(r, 412)
    me = (await client.get("/v1/me", headers=alice)).json()
    assert me["display_name"] == "First"
    assert me["timezone"] == "UTC"
    assert me["version"] == 2


async def test_patch_me_with_the_current_if_match_succeeds(client, alice):
    etag = (await client.get("/v1/me", headers=alice)).headers["etag"]
    r = await client.patch(
        "/v1/me", json={"display_name": "Alice"}, headers={**alice, "If-Match": etag}
    )
    assert r.status_code == 200
    assert r.json()["version"] == 2


async def test_patch_me_with_a_weak_if_match_is_412(client, alice):
    etag = (await client.get("/v1/me", headers=alice)).headers["etag"]
    r = await client.patch(
        "/v1/me", json={"display_name": "Alice"}, headers={**alice, "If-Match": f"W/{etag}"}
    )
    assert_problem(r, 412)


async def test_me_answers_only_for_the_token_holder(client, alice, bob):
    await client.patch("/v1/me", json={"display_name": "Alice"}, headers=alice)
    assert (await client.get("/v1/me", headers=bob)).json()["display_name"] is None


# --- other errors on these paths ---------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/v1/auth/register", {"POST"}),
        ("GET", "/v1/auth/token", {"POST"}),
        ("PUT", "/v1/auth/refresh", {"POST"}),
        ("DELETE", "/v1/me", {"GET", "PATCH"}),
        ("POST", "/v1/me", {"GET", "PATCH"}),
    ],
)
async def test_unsupported_method_is_405_problem_with_allow(client, alice, method, path, allowed):
    r = await client.request(method, path, headers=alice)
    assert_problem(r, 405)
    allow = {m.strip() for m in r.headers["allow"].split(",")}
    assert allowed <= allow
    assert method not in allow


async def test_register_body_over_one_mebibyte_is_413_problem(client):
    body = {"email": "ada@example.com", "password": PASSWORD, "display_name": "x" * 1_100_000}
    assert_problem(await client.post("/v1/auth/register", json=body), 413)
    assert (await login(client, "ada@example.com")).status_code == 401


async def test_unknown_auth_route_is_404_problem(client):
    assert_problem(await client.post("/v1/auth/logout"), 404)
