"""End to end through a real uvicorn process: sockets, headers, and the README's journey."""

from __future__ import annotations

import httpx


def test_register_login_and_contact_lifecycle_over_real_sockets(live_server: str) -> None:
    with httpx.Client(base_url=live_server, timeout=10) as http:
        assert http.get("/readyz").json() == {"status": "ready"}
        r = http.post(
            "/v1/auth/register", json={"email": "e2e@example.com", "password": "pw-123456"}
        )
        assert r.status_code == 201
        r = http.post(
            "/v1/auth/token", data={"username": "e2e@example.com", "password": "pw-123456"}
        )
        tokens = r.json()
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}

        r = http.post(
            "/v1/contacts", json={"full_name": "Ada"}, headers={**auth, "Idempotency-Key": "e2e-1"}
        )
        assert r.status_code == 201
        url, etag = r.headers["location"], r.headers["etag"]
        replay = http.post(
            "/v1/contacts", json={"full_name": "Ada"}, headers={**auth, "Idempotency-Key": "e2e-1"}
        )
        assert replay.json() == r.json()

        assert http.get(url, headers={**auth, "If-None-Match": etag}).status_code == 304
        r = http.patch(url, json={"title": "CTO"}, headers={**auth, "If-Match": etag})
        assert r.status_code == 200 and r.json()["version"] == 2
        assert (
            http.patch(url, json={"title": "x"}, headers={**auth, "If-Match": etag}).status_code
            == 412
        )
        assert len(http.get("/v1/contacts", headers=auth).json()["items"]) == 1
        assert http.delete(url, headers=auth).status_code == 204
        assert http.delete(url, headers=auth).status_code == 404

        r = http.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert r.status_code == 200

        big = b'{"full_name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
        r = http.post(
            "/v1/contacts", content=big, headers={**auth, "Content-Type": "application/json"}
        )
        assert r.status_code == 413
        assert r.headers["content-type"].startswith("application/problem+json")
