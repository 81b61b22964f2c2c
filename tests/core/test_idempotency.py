"""Idempotency-Key on POST: replay, mismatch, in flight, not remembering rejects."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import timedelta

from sqlmodel import select

from app.core.db import utcnow
from app.core.idempotency import IdempotencyRecord
from tests.contacts.test_router import assert_problem


async def count_contacts(client, headers) -> int:
    return len((await client.get("/v1/contacts?limit=200", headers=headers)).json()["items"])


async def test_same_key_and_body_replays_the_first_response_and_creates_once(client, alice):
    headers = {**alice, "Idempotency-Key": "k-1"}
    first = await client.post("/v1/contacts", json={"full_name": "Ada"}, headers=headers)
    second = await client.post("/v1/contacts", json={"full_name": "Ada"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await count_contacts(client, alice) == 1


async def test_a_replayed_secret_stays_uncacheable(client, alice):
    headers = {**alice, "Idempotency-Key": "feed-1"}
    first = await client.post("/v1/me/calendar-token", headers=headers)
    second = await client.post("/v1/me/calendar-token", headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    for response in (first, second):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["pragma"] == "no-cache"


async def test_same_key_with_another_body_is_422(client, alice):
    headers = {**alice, "Idempotency-Key": "k-2"}
    assert (await client.post("/v1/contacts", json={"full_name": "A"}, headers=headers)).is_success
    r = await client.post("/v1/contacts", json={"full_name": "B"}, headers=headers)
    assert_problem(r, 422)
    # Told apart from invalid input: the fix is a new key.
    assert r.json()["type"].endswith("/idempotency-key-reused")
    assert r.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert await count_contacts(client, alice) == 1


async def test_a_retried_upload_with_a_new_multipart_boundary_is_replayed(client, alice):
    card = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Grace Hopper\r\nEND:VCARD\r\n"
    headers = {**alice, "Idempotency-Key": "import-1"}
    answers = []
    for boundary in ("first-attempt-boundary", "second-attempt-boundary"):
        body = (
            (
                f"--{boundary}\r\n"
                'Content-Disposition: form-data; name="file"; filename="c.vcf"\r\n'
                "Content-Type: text/vcard\r\n\r\n"
            ).encode()
            + card
            + f"\r\n--{boundary}--\r\n".encode()
        )
        content_type = f"multipart/form-data; boundary={boundary}"
        answers.append(
            await client.post(
                "/v1/contacts/import",
                content=body,
                headers={**headers, "Content-Type": content_type},
            )
        )
    first, second = answers
    assert first.status_code == second.status_code == 200, second.text
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json() == {
        "created": 1, "updated": 0, "skipped": 0, "errors": [],
    }  # fmt: skip
    assert await count_contacts(client, alice) == 1
    # Other parts under the same key are another request.
    other = card.replace(b"Grace Hopper", b"Ada Lovelace")
    r = await client.post(
        "/v1/contacts/import", files={"file": ("c.vcf", other, "text/vcard")}, headers=headers
    )
    assert_problem(r, 422)


async def test_rejected_request_is_not_remembered(client, alice):
    headers = {**alice, "Idempotency-Key": "k-3"}
    assert_problem(await client.post("/v1/contacts", json={"full_name": ""}, headers=headers), 422)
    r = await client.post("/v1/contacts", json={"full_name": "Fixed"}, headers=headers)
    assert r.status_code == 201 and "idempotent-replayed" not in r.headers


async def test_keys_are_scoped_to_the_caller(client, alice, bob):
    body = {"full_name": "Same"}
    a = await client.post("/v1/contacts", json=body, headers={**alice, "Idempotency-Key": "k"})
    b = await client.post("/v1/contacts", json=body, headers={**bob, "Idempotency-Key": "k"})
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]
    assert "idempotent-replayed" not in b.headers


async def test_key_longer_than_255_characters_is_422(client, alice):
    r = await client.post(
        "/v1/contacts", json={"full_name": "A"}, headers={**alice, "Idempotency-Key": "k" * 256}
    )
    assert_problem(r, 422)
    assert await count_contacts(client, alice) == 0
    r = await client.post(
        "/v1/contacts", json={"full_name": "A"}, headers={**alice, "Idempotency-Key": "k" * 255}
    )
    assert r.status_code == 201


def create_fingerprint(body: bytes) -> str:
    """What a POST /v1/contacts with `body` reserves its key under."""
    return hashlib.sha256(b"POST /v1/contacts?\n" + body).hexdigest()


async def reserve(app, scope: str, key: str, fingerprint: str, locked_at) -> None:
    """Leave a reservation as an unfinished (or crashed) first attempt would."""
    async with app.state.runtime.db.write_sessions() as session, session.begin():
        session.add(
            IdempotencyRecord(
                scope=scope,
                key=key,
                request_hash=fingerprint,
                locked_at=locked_at,
                created_at=locked_at,
            )
        )


async def test_key_still_in_flight_is_409_and_creates_nothing(client, alice, app):
    scope = uuid.UUID((await client.get("/v1/me", headers=alice)).json()["id"]).hex
    await reserve(app, scope, "busy", create_fingerprint(b'{"full_name":"A"}'), utcnow())
    r = await client.post(
        "/v1/contacts", json={"full_name": "A"}, headers={**alice, "Idempotency-Key": "busy"}
    )
    assert_problem(r, 409)
    # Unlike other conflicts, worth retrying: its own type, and when.
    assert r.json()["type"].endswith("/idempotency-key-in-flight")
    assert r.headers["retry-after"] == "1"
    assert await count_contacts(client, alice) == 0


async def test_abandoned_reservation_is_taken_over(client, alice, app):
    scope = uuid.UUID((await client.get("/v1/me", headers=alice)).json()["id"]).hex
    crashed_at = utcnow() - timedelta(minutes=10)
    await reserve(app, scope, "crashed", create_fingerprint(b'{"full_name":"A"}'), crashed_at)
    r = await client.post(
        "/v1/contacts", json={"full_name": "A"}, headers={**alice, "Idempotency-Key": "crashed"}
    )
    assert r.status_code == 201
    assert await count_contacts(client, alice) == 1


async def test_expired_key_acts_anew(client, alice, app):
    headers = {**alice, "Idempotency-Key": "old"}
    first = await client.post("/v1/contacts", json={"full_name": "A"}, headers=headers)
    db = app.state.runtime.db
    async with db.write_sessions() as session, session.begin():
        record = (
            await session.exec(select(IdempotencyRecord).where(IdempotencyRecord.key == "old"))
        ).one()
        record.created_at = utcnow() - timedelta(hours=25)
        session.add(record)
    second = await client.post("/v1/contacts", json={"full_name": "A"}, headers=headers)
    assert second.status_code == 201 and second.json()["id"] != first.json()["id"]


async def test_concurrent_posts_with_one_key_create_one_contact(client, alice):
    headers = {**alice, "Idempotency-Key": "race"}

    async def attempt():
        return await client.post("/v1/contacts", json={"full_name": "Race"}, headers=headers)

    responses = await asyncio.gather(*(attempt() for _ in range(12)))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    created_ids = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(created_ids) == 1
    assert await count_contacts(client, alice) == 1


async def test_refresh_retried_with_its_key_replays_the_pair_without_storing_it_in_clear(
    client, app
):
    await client.post(
        "/v1/auth/register", json={"email": "flaky@example.com", "password": "pw-12345678"}
    )
    login = await client.post(
        "/v1/auth/token", data={"username": "flaky@example.com", "password": "pw-12345678"}
    )
    body = {"refresh_token": login.json()["refresh_token"]}
    headers = {"Idempotency-Key": "refresh-1"}
    first = await client.post("/v1/auth/refresh", json=body, headers=headers)
    # The response was lost on a flaky network; the app retries with the same key.
    retry = await client.post("/v1/auth/refresh", json=body, headers=headers)
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    # The replayed refresh token is the live one: using it rotates normally.
    r = await client.post("/v1/auth/refresh", json={"refresh_token": retry.json()["refresh_token"]})
    assert r.status_code == 200

    async with app.state.runtime.db.read_sessions() as session:
        stored = (
            await session.exec(
                select(IdempotencyRecord).where(IdempotencyRecord.key == "refresh-1")
            )
        ).one()
    assert first.json()["refresh_token"].encode() not in stored.response_body
    assert first.json()["access_token"].encode() not in stored.response_body


async def test_a_replay_sealed_under_another_secret_is_refused_not_repeated(client, alice, app):
    headers = {**alice, "Idempotency-Key": "rotated"}
    assert (await client.post("/v1/contacts", json={"full_name": "A"}, headers=headers)).is_success
    async with app.state.runtime.db.write_sessions() as session, session.begin():
        record = (
            await session.exec(select(IdempotencyRecord).where(IdempotencyRecord.key == "rotated"))
        ).one()
        record.response_body = b"\x00" * 12 + b"sealed with an older key"
        session.add(record)
    r = await client.post("/v1/contacts", json={"full_name": "A"}, headers=headers)
    assert_problem(r, 409)
    assert await count_contacts(client, alice) == 1
