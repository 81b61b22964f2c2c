"""A client generated from the committed OpenAPI document drives a live server.

`openapi-python-client` (the version requirements.lock pins) generates a package from
openapi/openapi.json once per session; every endpoint and schema must come through without a
warning, and a whole user journey then runs against a real uvicorn, on SQLite and PostgreSQL,
using only the generated functions and models.
"""

from __future__ import annotations

import importlib
import io
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import ROOT

DOCUMENT = ROOT / "openapi" / "openapi.json"
CONFIG = Path(__file__).with_name("openapi-python-client.yaml")
PACKAGE = "rapport_client"  # package_name_override in CONFIG


@dataclass
class Generated:
    package: ModuleType
    folder: Path
    exit_code: int
    output: str


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    """`openapi-python-client generate` on the committed document, imported from a temp folder.

    The command runs in this process (the same CLI entry point, without a second interpreter
    importing pydantic and httpx again), with `--fail-on-warning` so a warning also shows in
    the exit code. Imported here, not at the top: collecting the suite should not pay for it.
    """
    from openapi_python_client.cli import app as generator_cli
    from typer.testing import CliRunner

    folder = tmp_path_factory.mktemp("generated-client")
    args = ["generate", "--path", str(DOCUMENT), "--config", str(CONFIG), "--meta", "none"]
    args += ["--output-path", str(folder / PACKAGE), "--fail-on-warning"]
    result = CliRunner().invoke(generator_cli, args)
    if not (folder / PACKAGE / "__init__.py").exists():
        pytest.fail(f"openapi-python-client generated nothing:\n{result.output}")
    sys.path.insert(0, str(folder))
    try:
        package = importlib.import_module(PACKAGE)
        yield Generated(package, folder / PACKAGE, result.exit_code, result.output)
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _words(name: str) -> str:
    """`contacts-list`, `contacts_list`, `ResourceChanges_ContactPublic_` → comparable words."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def test_the_document_generates_without_a_warning(generated: Generated) -> None:
    # A warning is how the generator says it skipped an endpoint, a schema or a parameter.
    lines = [line for line in generated.output.splitlines() if line.strip()]
    assert lines == [f"Generating {generated.folder}"], generated.output
    assert generated.exit_code == 0, generated.output


def test_every_operation_and_schema_is_generated(generated: Generated) -> None:
    document = json.loads(DOCUMENT.read_text())
    modules = {_words(path.stem) for path in (generated.folder / "api").rglob("*.py") if path.stem}
    operations = {
        op["operationId"]
        for item in document["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }
    assert {op for op in operations if _words(op) not in modules} == set()
    models = importlib.import_module(f"{PACKAGE}.models")
    classes = {_words(name) for name in models.__all__}
    schemas = set(document["components"]["schemas"])
    assert {name for name in schemas if _words(name) not in classes} == set()


def _ok(response: Any, status: int, model: type) -> Any:
    """The parsed body of a response that must have `status` and parse as `model`."""
    assert response.status_code == status, (response.status_code, response.content[:1000])
    assert isinstance(response.parsed, model), response.parsed
    return response.parsed


VCARDS = b"""BEGIN:VCARD\r
VERSION:3.0\r
FN:Katherine Johnson\r
N:Johnson;Katherine;;;\r
EMAIL:katherine@example.com\r
ORG:NASA\r
END:VCARD\r
BEGIN:VCARD\r
VERSION:3.0\r
FN:Grace Hopper\r
EMAIL:GRACE@example.com\r
CATEGORIES:navy\r
END:VCARD\r
"""


async def test_a_generated_client_runs_the_whole_journey(
    generated: Generated, live_server: str, app: FastAPI
) -> None:
    # `app` is requested for its `_clean_tables` teardown: the live server shares its database.
    from rapport_client import AuthenticatedClient, Client
    from rapport_client.api.asks import asks_create, asks_list, asks_update
    from rapport_client.api.auth import auth_refresh, auth_register, auth_token
    from rapport_client.api.contacts import (
        contacts_create,
        contacts_delete,
        contacts_export,
        contacts_get,
        contacts_import,
        contacts_list,
        contacts_reciprocity,
        contacts_update,
    )
    from rapport_client.api.etiquette_tasks import etiquette_tasks_list
    from rapport_client.api.follow_ups import follow_ups_list
    from rapport_client.api.interactions import interactions_create, interactions_list
    from rapport_client.api.me import me_get
    from rapport_client.api.reciprocity import reciprocity_get
    from rapport_client.api.scheduler import scheduler_run
    from rapport_client.api.sync import sync_changes
    from rapport_client.models import (
        AskCreate,
        AskKind,
        AskPublic,
        AskStatus,
        AskUpdate,
        BodyContactsImport,
        Channel,
        Circle,
        ContactCreate,
        ContactPublic,
        ContactReciprocity,
        ContactUpdate,
        Direction,
        ExportFormat,
        FollowUpPage,
        FollowUpType,
        ImportReport,
        InteractionCreate,
        InteractionKind,
        InteractionPublic,
        InteractionStatus,
        LoginForm,
        PageAskPublic,
        PageContactPublic,
        PageInteractionPublic,
        PageTaskPublic,
        Problem,
        Proposer,
        ReciprocityPage,
        RefreshRequest,
        RunRequest,
        Stance,
        SyncPage,
        TaskKind,
        TokenPair,
        UserPublic,
        UserRegister,
        UserRun,
        WarningCode,
    )
    from rapport_client.types import File, Unset

    timeout = httpx.Timeout(15)
    anonymous = Client(base_url=live_server, timeout=timeout, raise_on_unexpected_status=True)
    email, password = "journey@example.com", "correct horse battery"

    # Register, log in (the OAuth2 form), refresh.
    user = _ok(
        auth_register.sync_detailed(
            client=anonymous, body=UserRegister(email=email, password=password)
        ),
        201,
        UserPublic,
    )
    wrong = auth_token.sync_detailed(
        client=anonymous, body=LoginForm(username=email, password="not the password")
    )
    assert _ok(wrong, 401, Problem).status == 401
    login = _ok(
        auth_token.sync_detailed(
            client=anonymous, body=LoginForm(username=email, password=password)
        ),
        200,
        TokenPair,
    )
    assert login.token_type == "bearer" and login.expires_in > 0
    tokens = _ok(
        auth_refresh.sync_detailed(
            client=anonymous, body=RefreshRequest(refresh_token=login.refresh_token)
        ),
        200,
        TokenPair,
    )
    assert tokens.refresh_token != login.refresh_token
    api = AuthenticatedClient(
        base_url=live_server,
        token=tokens.access_token,
        timeout=timeout,
        raise_on_unexpected_status=True,
    )
    assert _ok(me_get.sync_detailed(client=api), 200, UserPublic).id == user.id

    # Contacts: an idempotent create, a validation problem, ETags, a merge patch.
    now = datetime.now(UTC)
    grace_body = ContactCreate(
        full_name="Grace Hopper",
        email="grace@example.com",
        circle=Circle.ALUMNI,
        tags=["compilers"],
        open_to=[AskKind.ADVICE],
    )
    created = contacts_create.sync_detailed(client=api, body=grace_body, idempotency_key="grace")
    grace = _ok(created, 201, ContactPublic)
    assert created.headers["Location"].endswith(f"/v1/contacts/{grace.id}")
    assert isinstance(grace.created_at, datetime) and grace.created_at.tzinfo is not None
    replay = contacts_create.sync_detailed(client=api, body=grace_body, idempotency_key="grace")
    assert _ok(replay, 201, ContactPublic).id == grace.id
    created = contacts_create.sync_detailed(
        client=api, body=ContactCreate(full_name="Ada Lovelace", circle=Circle.COWORKER)
    )
    ada, ada_etag = _ok(created, 201, ContactPublic), created.headers["ETag"]
    naive = ContactCreate(full_name="Nobody", snoozed_until=datetime(2030, 1, 1))  # no offset
    problem = _ok(contacts_create.sync_detailed(client=api, body=naive), 422, Problem)
    assert problem.errors and problem.errors[0].field.endswith("snoozed_until")

    page = _ok(contacts_list.sync_detailed(client=api, limit=1), 200, PageContactPublic)
    assert len(page.items) == 1 and page.next_cursor
    rest = _ok(
        contacts_list.sync_detailed(client=api, limit=1, cursor=page.next_cursor),
        200,
        PageContactPublic,
    )
    assert {page.items[0].id, rest.items[0].id} == {grace.id, ada.id}
    alumni = contacts_list.sync_detailed(client=api, circle=Circle.ALUMNI)
    assert [c.id for c in _ok(alumni, 200, PageContactPublic).items] == [grace.id]

    read = contacts_get.sync_detailed(grace.id, client=api)
    etag = read.headers["ETag"]
    cached = contacts_get.sync_detailed(grace.id, client=api.with_headers({"If-None-Match": etag}))
    assert cached.status_code == 304 and cached.parsed is None
    patched = contacts_update.sync_detailed(
        grace.id, client=api, body=ContactUpdate(title="Rear Admiral"), if_match=etag
    )
    assert _ok(patched, 200, ContactPublic).version == 2
    stale = contacts_update.sync_detailed(
        grace.id, client=api, body=ContactUpdate(title="Commodore"), if_match=etag
    )
    assert _ok(stale, 412, Problem).status == 412

    # Interactions: a meeting last week-end (→ a thank-you note), one planned by me with no
    # objective (→ confirm the time, set an objective), and Ada's last email 40 days ago.
    meeting = InteractionCreate(
        contact_id=grace.id,
        channel=Channel.IN_PERSON,
        kind=InteractionKind.MEETING,
        status=InteractionStatus.COMPLETED,
        occurred_at=now - timedelta(days=3),
        objective="Hear how COBOL came about",
    )
    planned = InteractionCreate(
        contact_id=grace.id,
        channel=Channel.VIDEO,
        kind=InteractionKind.INFORMATIONAL_INTERVIEW,
        status=InteractionStatus.PLANNED,
        occurred_at=now + timedelta(days=7),
        time_proposed_by=Proposer.ME,
    )
    old_email = InteractionCreate(
        contact_id=ada.id,
        channel=Channel.EMAIL,
        kind=InteractionKind.CHECK_IN,
        status=InteractionStatus.COMPLETED,
        occurred_at=now - timedelta(days=40),
    )
    for body in (meeting, planned, old_email):
        _ok(interactions_create.sync_detailed(client=api, body=body), 201, InteractionPublic)
    tasks = _ok(
        etiquette_tasks_list.sync_detailed(client=api, contact_id=grace.id), 200, PageTaskPublic
    )
    assert {t.kind for t in tasks.items} == {
        TaskKind.THANK_YOU_NOTE,
        TaskKind.CONFIRM_MEETING_TIME,
        TaskKind.SET_OBJECTIVE,
    }

    # Asks: warnings that never block; help given to Grace, received from Ada.
    job = _ok(
        asks_create.sync_detailed(
            client=api,
            body=AskCreate(
                contact_id=grace.id,
                direction=Direction.OUTGOING,
                kind=AskKind.JOB,
                statement="Could you hire me?",
            ),
        ),
        201,
        AskPublic,
    )
    assert {w.code for w in job.etiquette_warnings} >= {
        WarningCode.ASK_FOR_JOB,
        WarningCode.OUTSIDE_COMFORT,
    }
    withdrawn = asks_update.sync_detailed(
        job.id, client=api, body=AskUpdate(status=AskStatus.WITHDRAWN)
    )
    assert _ok(withdrawn, 200, AskPublic).resolved_at is not None
    for contact, direction, kind in (
        (grace, Direction.INCOMING, AskKind.ADVICE),
        (ada, Direction.OUTGOING, AskKind.REFERRAL),
    ):
        ask = _ok(
            asks_create.sync_detailed(
                client=api,
                body=AskCreate(
                    contact_id=contact.id,
                    direction=direction,
                    kind=kind,
                    statement=f"{kind.value} between us",
                    researched=True,
                ),
            ),
            201,
            AskPublic,
        )
        fulfilled = asks_update.sync_detailed(
            ask.id, client=api, body=AskUpdate(status=AskStatus.FULFILLED)
        )
        assert _ok(fulfilled, 200, AskPublic).status == AskStatus.FULFILLED

    # The scheduler: Ada is 10 days overdue (coworkers: 30 days) and we only take from her.
    run = _ok(
        scheduler_run.sync_detailed(client=api, body=RunRequest(), idempotency_key="run-1"),
        200,
        UserRun,
    )
    assert run.tasks_created == 2
    assert run.scope == "user"
    again = scheduler_run.sync_detailed(client=api, body=RunRequest())
    assert _ok(again, 200, UserRun).tasks_created == 0
    ada_tasks = _ok(
        etiquette_tasks_list.sync_detailed(client=api, contact_id=ada.id), 200, PageTaskPublic
    )
    assert {TaskKind.RECONNECT, TaskKind.OFFER_HELP} <= {t.kind for t in ada_tasks.items}

    follow_ups = _ok(follow_ups_list.sync_detailed(client=api), 200, FollowUpPage)
    first = follow_ups.items[0]
    assert (first.type_, first.contact_id, first.days_overdue) == (
        FollowUpType.RECONNECT,
        ada.id,
        10,
    )
    assert isinstance(first.due_at, datetime)
    assert any(
        f.type_ == FollowUpType.ETIQUETTE_TASK and f.contact_id == grace.id
        for f in follow_ups.items
    )
    balance = _ok(reciprocity_get.sync_detailed(client=api), 200, ReciprocityPage)
    assert [(c.contact_id, c.stance) for c in balance.contacts] == [
        (ada.id, Stance.TAKING),
        (grace.id, Stance.GIVING),
    ]
    assert balance.network.stance == Stance.TAKING
    grace_balance = _ok(
        contacts_reciprocity.sync_detailed(grace.id, client=api), 200, ContactReciprocity
    )
    assert grace_balance.given > 0 and grace_balance.received == 0

    # An offline copy: pages of the sync feed (the async functions), applied in order.
    store: dict[str, dict[Any, Any]] = {
        "contacts": {},
        "interactions": {},
        "asks": {},
        "etiquette_tasks": {},
    }

    async def sync(cursor: str | None) -> tuple[str, dict[str, set[Any]]]:
        deleted: dict[str, set[Any]] = {name: set() for name in store}
        pages = 0
        while True:
            response = await sync_changes.asyncio_detailed(client=api, cursor=cursor, limit=3)
            feed = _ok(response, 200, SyncPage)
            pages += 1
            for name, records in store.items():
                changes = getattr(feed.changes, name)
                if isinstance(changes, Unset):
                    continue
                for record in changes.upserted or []:
                    records[record.id] = record
                for gone in changes.deleted or []:
                    records.pop(gone, None)
                    deleted[name].add(gone)
            cursor = feed.cursor
            if not feed.has_more:
                assert pages > 1  # limit=3 makes it page
                return cursor, deleted

    lists = {
        "contacts": (contacts_list, PageContactPublic),
        "interactions": (interactions_list, PageInteractionPublic),
        "asks": (asks_list, PageAskPublic),
        "etiquette_tasks": (etiquette_tasks_list, PageTaskPublic),
    }

    def listed() -> dict[str, set[Any]]:
        """The ids each list endpoint holds (one page of 200 holds them all)."""
        return {
            name: {r.id for r in _ok(op.sync_detailed(client=api, limit=200), 200, page).items}
            for name, (op, page) in lists.items()
        }

    cursor, _ = await sync(None)
    assert {name: set(records) for name, records in store.items()} == listed()
    assert isinstance(store["contacts"][grace.id], ContactPublic)

    # Import (multipart) and export.
    imported = contacts_import.sync_detailed(
        client=api,
        body=BodyContactsImport(
            file=File(payload=io.BytesIO(VCARDS), file_name="contacts.vcf", mime_type="text/vcard")
        ),
        idempotency_key="import-1",
    )
    report = _ok(imported, 200, ImportReport)
    assert (report.created, report.updated, report.skipped) == (1, 1, 0)
    csv = contacts_export.sync_detailed(client=api, format_=ExportFormat.CSV)
    assert csv.status_code == 200 and isinstance(csv.parsed, str)
    assert all(name in csv.parsed for name in ("Grace Hopper", "Ada Lovelace", "Katherine"))
    vcf = contacts_export.sync_detailed(client=api, format_=ExportFormat.VCF)
    assert isinstance(vcf.parsed, str) and vcf.parsed.count("BEGIN:VCARD") == 3

    # Delete Ada (If-Match), and the next sync removes her and what hung on her.
    edit = contacts_update.sync_detailed(
        ada.id, client=api, body=ContactUpdate(organization="Analytical Engines")
    )
    current = edit.headers["ETag"]
    assert current != ada_etag
    stale = contacts_delete.sync_detailed(ada.id, client=api, if_match=ada_etag)
    assert _ok(stale, 412, Problem).status == 412
    gone = contacts_delete.sync_detailed(ada.id, client=api, if_match=current)
    assert gone.status_code == 204
    assert _ok(contacts_delete.sync_detailed(ada.id, client=api), 404, Problem).status == 404
    ada_records = {
        name: {r.id for r in records.values() if getattr(r, "contact_id", r.id) == ada.id}
        for name, records in store.items()
    }
    cursor, deleted = await sync(cursor)
    assert deleted == ada_records
    assert {name: set(records) for name, records in store.items()} == listed()
    assert "navy" in store["contacts"][grace.id].tags  # the import's new tag came through

    # Refresh tokens rotate: the first one, used again, is refused.
    reused = auth_refresh.sync_detailed(
        client=anonymous, body=RefreshRequest(refresh_token=login.refresh_token)
    )
    assert _ok(reused, 401, Problem).status == 401
