"""Contract fuzzing: schemathesis drives the app from its own OpenAPI document.

Schemathesis's checks are all on but one (see EXCLUDED): server errors, status codes, content
types, response schemas and headers, negative data rejection, missing required headers,
unsupported methods, use after free, resource availability (taught the contact cascade, see
`resource_availability`), ignored auth. Data is generated valid and invalid, through the
examples, coverage and fuzzing phases. Calls carry the bearer token of a user registered and
signed in through the app (one per stateful sequence), on SQLite and on PostgreSQL like every
other test.

The stateful phase chains calls through links. Most are inferred by schemathesis from the
document (an `id` in a response feeds the `{…_id}` path parameters and `contact_id` filters
of the same resource); two kinds it cannot infer are declared in the document: a new
contact's id as the `contact_id` of a new interaction, ask or task (a body field), and a new
calendar secret as the feed's path. A test below checks that sequences reach records they made.

`make test` keeps this small (RAPPORT_FUZZ_EXAMPLES, default 5 per operation; 10 stateful
sequences of up to 20 calls); `make fuzz` runs the same tests with many more.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis import Case, CheckContext, Response
from schemathesis.specs.openapi.checks import ensure_resource_availability

from app.core.config import Settings
from app.main import create_app
from app.openapi import document
from tests.conftest import sign_up

EXAMPLES = int(os.environ.get("RAPPORT_FUZZ_EXAMPLES", "5"))
# Stateful: sequences of up to STEPS calls, STATEFUL_RUNS of them.
STEPS = int(os.environ.get("RAPPORT_FUZZ_STEPS", "20" if EXAMPLES <= 20 else "50"))
STATEFUL_RUNS = max(10, EXAMPLES // 2)

# The one check left out: `positive_data_acceptance` expects any schema-valid request to
# succeed, but some refusals depend on state no schema can express, and they are the contract:
# a `cursor` the server did not sign (400), an `If-Match` that is not the record's ETag (412),
# a `contact_id` that names none of your contacts (422), a `timezone` that is not an IANA zone
# (422). Every other check is on, including the rejection of schema-violating input.
EXCLUDED = "positive_data_acceptance"

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    # Wall-clock deadlines flake on a loaded 2-core machine; the run is bounded by examples.
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("RAPPORT_FUZZ_RANDOM", "") == "",
    database=None,
)


class _Target:
    """The ASGI app under test for the current database, which pytest only knows per test."""

    app: FastAPI | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.app is not None, "the fuzz_app fixture sets the app under test"
        await self.app(scope, receive, send)


TARGET = _Target()
# The committed document's source (app/openapi.py), loaded once at collection so that each
# operation is a test of its own; the calls go to the app of the database under test.
# (`schemathesis.pytest.from_fixture` would load it per database, but fails on pytest 9.)
schema = schemathesis.openapi.from_dict(document())
schema.app = TARGET
getattr(schema.config.checks, EXCLUDED).enabled = False
# Replaced by `resource_availability` below, which runs it.
schema.config.checks.ensure_resource_availability.enabled = False


def _contact_deleted_since(ctx: CheckContext, case: Case) -> bool:
    """Whether the contact of the record `case` reaches was deleted, successfully, earlier."""
    recorder = ctx.internals.recorder
    parent = ctx.internals.find_parent(case_id=case.id)
    created = ctx.internals.find_response(case_id=parent.id) if parent is not None else None
    if recorder is None or created is None:
        return False
    try:
        contact_id = created.json().get("contact_id")
    except (ValueError, AttributeError):
        return False
    for prior in recorder.find_all_cases():
        if (
            prior.method.upper() == "DELETE"
            and prior.operation.path == "/v1/contacts/{contact_id}"
            and str((prior.path_parameters or {}).get("contact_id")) == str(contact_id)
        ):
            answer = recorder.find_response(case_id=prior.id)
            if answer is not None and 200 <= answer.status_code < 300:
                return True
    return False


@schemathesis.check
def resource_availability(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Schemathesis's `ensure_resource_availability`, told about our one sideways cascade.

    It knows that a DELETE removes what lies below its path; deleting a contact also deletes
    its interactions, asks and tasks (PRODUCT.md), which live beside it. A 404 for one of
    those after its contact was deleted is the contract; any other 404 for a record just
    created still fails.
    """
    if response.status_code == 404 and _contact_deleted_since(ctx, case):
        return None
    return ensure_resource_availability(ctx, response, case)


@pytest.fixture
def fuzz_app(migrated: Settings, app: FastAPI) -> Iterator[FastAPI]:
    # An app of its own: schemathesis calls it from its own event loop (one per call, through
    # Starlette's TestClient, whose lifespan disposes the pool), so no connection is shared
    # with the session loop the `app` fixture's pool lives on. `app` is requested so that
    # the tables are emptied after the test, like after any other.
    TARGET.app = create_app(migrated)
    yield TARGET.app
    TARGET.app = None


@pytest.fixture
async def fuzz_auth(client: httpx.AsyncClient) -> dict[str, str]:
    return await sign_up(client, "fuzzer@example.com")


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_keeps_its_contract(
    case: Any, fuzz_app: FastAPI, fuzz_auth: dict[str, str]
) -> None:
    case.call_and_validate(headers=fuzz_auth)


def _sign_up_through_the_app() -> dict[str, str]:
    email = f"fuzzer-{uuid.uuid4().hex[:12]}@example.com"
    credentials = {"email": email, "password": "correct horse battery"}
    r = schema["/v1/auth/register"]["POST"].Case(body=credentials).call()
    assert r.status_code == 201, r.text
    r = (
        schema["/v1/auth/token"]["POST"]
        .Case(
            body={"username": email, "password": credentials["password"]},
            media_type="application/x-www-form-urlencoded",
        )
        .call()
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_stateful_sequences_keep_the_contract(fuzz_app: FastAPI) -> None:
    machine = schema.as_state_machine()
    reached: list[str] = []

    class Authenticated(machine):  # type: ignore[misc,valid-type]
        def setup(self) -> None:
            # Each sequence signs up a user of its own and starts from an empty account:
            # what a sequence sees must not depend on the ones before it, or Hypothesis
            # cannot replay (and shrink) a failing one.
            super().setup()
            self.auth = _sign_up_through_the_app()

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": self.auth}

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)  # records it for the use-after-free check
            if "{" in case.path and 200 <= response.status_code < 300:
                reached.append(f"{case.method} {case.path}")

    run_state_machine_as_test(
        Authenticated,
        settings=settings(
            FUZZ_SETTINGS,
            max_examples=STATEFUL_RUNS,
            stateful_step_count=STEPS,
        ),
    )
    # The links carried ids from one call to the next: some call on a record made earlier in
    # its sequence succeeded (random ids only ever find 404).
    assert reached, "no stateful sequence reached a record it had created"


# Two operations the generated data cannot reach past their refusals, driven here with real
# data through the same document and checks.


def test_the_calendar_feed_keeps_its_contract(fuzz_app: FastAPI, fuzz_auth: dict[str, str]) -> None:
    # A generated `feed_token` is never a live secret, so fuzzing only ever sees the feed's
    # 404 (the stateful phase reaches it through the `read_feed` link, by chance). Here: the
    # feed of a real secret, then its 304.
    rotate = schema["/v1/me/calendar-token"]["POST"].Case()
    token = rotate.call_and_validate(headers=fuzz_auth).json()["token"]
    feed = schema["/v1/calendar/{feed_token}.ics"]["GET"]
    response = feed.Case(path_parameters={"feed_token": token}).call_and_validate()
    assert response.status_code == 200 and response.text.startswith("BEGIN:VCALENDAR")
    again = feed.Case(
        path_parameters={"feed_token": token},
        headers={"If-None-Match": response.headers["etag"][0]},
    )
    assert again.call_and_validate().status_code == 304


def test_import_and_export_keep_their_contract(
    fuzz_app: FastAPI, fuzz_auth: dict[str, str]
) -> None:
    # Generated files are random bytes (415) or text that is no vCard or known CSV (422);
    # here a real vCard goes in and both export formats come out, every answer checked.
    vcard = (
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Grace Hopper\r\nEMAIL:grace@example.com\r\nEND:VCARD\r\n"
    )
    upload = schema["/v1/contacts/import"]["POST"].Case(
        body={"file": vcard},
        media_type="multipart/form-data",
        multipart_content_types={"file": "text/vcard"},
    )
    response = upload.call_and_validate(headers=fuzz_auth)
    assert response.json()["created"] == 1, response.text
    export = schema["/v1/contacts/export"]["GET"]
    for fmt in ("vcf", "csv"):
        out = export.Case(query={"format": fmt}).call_and_validate(headers=fuzz_auth)
        assert "Grace Hopper" in out.text


# What the fuzzer found, pinned: each was answered with a success or an undeclared status.


@pytest.mark.parametrize(
    "url",
    [
        "/v1/contacts?updated_since=0.5",
        "/v1/interactions?occurred_before=1700000000",
        "/v1/follow-ups?as_of=0.5",
    ],
)
async def test_a_number_is_not_a_time_in_a_query(
    client: httpx.AsyncClient, alice: dict[str, str], url: str
) -> None:
    r = await client.get(url, headers=alice)
    assert r.status_code == 422, r.text


@pytest.mark.parametrize(
    "field",
    [{"track_follow_ups": 0}, {"track_follow_ups": "true"}, {"cadence_days": "30"}],
)
async def test_booleans_and_integers_are_not_coerced(
    client: httpx.AsyncClient, alice: dict[str, str], field: dict[str, Any]
) -> None:
    r = await client.post("/v1/contacts", json={"full_name": "Ada", **field}, headers=alice)
    assert r.status_code == 422, r.text


async def test_a_body_that_is_not_utf8_is_invalid_json(
    client: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    r = await client.post(
        "/v1/contacts",
        content=b"\xff{",
        headers={**alice, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["code"] == "json_invalid"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [("PATCH", "/v1/contacts/import", "POST"), ("DELETE", "/v1/contacts/export", "GET")],
)
async def test_import_and_export_are_not_contact_ids(
    client: httpx.AsyncClient, alice: dict[str, str], method: str, path: str, allow: str
) -> None:
    r = await client.request(method, path, json={}, headers=alice)
    assert r.status_code == 405, r.text
    assert allow in r.headers["Allow"]
