"""What one app instance holds: settings, database, and the helpers built from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from starlette.requests import HTTPConnection

from app.core.config import Settings
from app.core.db import Database
from app.core.idempotency import IdempotencyStore
from app.core.pagination import CursorCodec


@dataclass
class Runtime:
    settings: Settings
    db: Database = field(init=False)
    idempotency: IdempotencyStore = field(init=False)
    list_cursors: CursorCodec = field(init=False)
    sync_cursors: CursorCodec = field(init=False)

    def __post_init__(self) -> None:
        self.db = Database(self.settings)
        self.idempotency = IdempotencyStore(
            self.db,
            ttl=timedelta(seconds=self.settings.idempotency_ttl_seconds),
            lock=timedelta(seconds=self.settings.idempotency_lock_seconds),
            secret=self.settings.signing_key,
        )
        self.list_cursors = CursorCodec(self.settings.signing_key, "list")
        self.sync_cursors = CursorCodec(self.settings.signing_key, "sync")


def get_runtime(conn: HTTPConnection) -> Runtime:
    runtime: Runtime = conn.app.state.runtime
    return runtime
