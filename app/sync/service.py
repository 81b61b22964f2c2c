"""The changes feed: what a user's records became since a cursor, in pages.

A sync is a *sequence* of pages. Every page reads, in the order contacts, interactions, asks,
tasks and by (`sync_seq`, id) within each, the rows with `sync_seq >= low` after the previous
page's last row. Before reading, each page takes the clock's watermark (app/sync/clock.py);
when the sequence ends, the next one starts at the smallest watermark it saw. Any write that
committed after one of the sequence's reads stamped its rows at or above that watermark, so
the next sequence sends it: nothing is missed, a few records may come twice.

A sequence without a cursor starts at 0 and leaves tombstones out (a new client has nothing to
delete). Cursors name their user and the time their watermark was taken: older than the
tombstone retention, they are refused with 410, since tombstones they need may be purged.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, exists, select, tuple_
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.asks.models import Ask, AskPublic
from app.asks.warnings import warnings_for
from app.contacts.models import Contact, ContactPublic
from app.core.db import session_dialect, stored_form, stored_uuid, utcnow
from app.core.errors import BadRequest, Gone
from app.core.http import Encoder
from app.core.models import OwnedRecord
from app.core.pagination import CursorCodec
from app.etiquette.models import EtiquetteTask, TaskPublic
from app.interactions.models import Interaction, InteractionPublic
from app.sync.clock import watermark

# Parents first, so a client applying a page in order meets a contact before its records.
RESOURCES: tuple[tuple[str, type[OwnedRecord]], ...] = (
    ("contacts", Contact),
    ("interactions", Interaction),
    ("asks", Ask),
    ("etiquette_tasks", EtiquetteTask),
)
CURSOR_VERSION = 1
# Tombstones outlive the cursors that may need them by this much: a transaction that was
# running when a cursor's watermark was taken may have stamped a deletion a little earlier.
PURGE_GRACE = timedelta(days=1)
PURGE_BATCH = 10_000


@dataclass
class _Cursor:
    low: int  # rows with sync_seq >= low are this sequence's
    mark: int | None  # smallest watermark seen by this sequence so far
    mark_at: datetime  # when the sequence's first watermark was taken
    full: bool  # started without a cursor: tombstones are left out
    after: tuple[int, int, str] | None  # (resource index, sync_seq, id) of the last row sent

    def encode(self, codec: CursorCodec, owner_id: uuid.UUID) -> str:
        return codec.encode(
            {
                "v": CURSOR_VERSION,
                "u": str(owner_id),
                "l": self.low,
                "m": self.mark,
                "t": self.mark_at.isoformat(),
                "f": self.full,
                "a": list(self.after) if self.after else None,
            }
        )

    @classmethod
    def decode(cls, codec: CursorCodec, text: str, owner_id: uuid.UUID) -> _Cursor:
        data = codec.decode(text)
        try:
            if data["v"] != CURSOR_VERSION or data["u"] != str(owner_id):
                raise ValueError("another user's or another version's cursor")
            after = data["a"]
            mark = data["m"]
            return cls(
                low=int(data["l"]),
                mark=None if mark is None else int(mark),
                mark_at=datetime.fromisoformat(data["t"]),
                full=bool(data["f"]),
                after=None if after is None else (int(after[0]), int(after[1]), str(after[2])),
            )
        except (KeyError, TypeError, ValueError, IndexError):
            raise BadRequest(
                "The cursor is malformed or was not issued to you; sync again without one."
            ) from None


async def changes(
    session: AsyncSession,
    owner_id: uuid.UUID,
    codec: CursorCodec,
    *,
    cursor: str | None,
    limit: int,
    retention: timedelta,
) -> dict[str, Any]:
    now = utcnow()
    if cursor is None:
        state = _Cursor(low=0, mark=None, mark_at=now, full=True, after=None)
    else:
        state = _Cursor.decode(codec, cursor, owner_id)
        if now - state.mark_at > retention:
            raise Gone(
                f"This sync cursor is older than {retention.days} days and deletions it needs "
                "may be gone: discard the local copy and sync again without a cursor."
            )

    # Taken before the rows are read: see the module docstring.
    mark = await watermark(session)
    if state.mark is None:  # the sequence's first page
        state.mark, state.mark_at = mark, now
    else:
        state.mark = min(state.mark, mark)

    rows: list[tuple[int, Any]] = []
    start = state.after[0] if state.after else 0
    for index in range(start, len(RESOURCES)):
        left = limit + 1 - len(rows)
        if left <= 0:
            break
        model = RESOURCES[index][1]
        after = state.after if state.after and state.after[0] == index else None
        found = await _read(session, model, owner_id, state, after, left)
        rows.extend((index, row) for row in found)

    has_more = len(rows) > limit
    rows = rows[:limit]
    page = await _changes(session, owner_id, rows)
    if has_more:
        last_index, last = rows[-1]
        state.after = (last_index, last.sync_seq, str(stored_uuid(last.id)))
        next_state = state
    else:
        assert state.mark is not None
        next_state = _Cursor(
            low=state.mark, mark=None, mark_at=state.mark_at, full=False, after=None
        )
    # `SyncPage`'s JSON form (the route declares the model).
    return {"changes": page, "cursor": next_state.encode(codec, owner_id), "has_more": has_more}


async def _read(
    session: AsyncSession,
    model: type[OwnedRecord],
    owner_id: uuid.UUID,
    state: _Cursor,
    after: tuple[int, int, str] | None,
    limit: int,
) -> list[Any]:
    seq, rid = col(model.sync_seq), col(model.id)
    # Plain rows, not ORM instances: they are only written out; those an encoder writes, in
    # their stored form.
    columns = _COLUMNS[model]
    if model in _ENCODED:
        columns = stored_form(columns, session_dialect(session))
    stmt = select(*columns).where(col(model.owner_id) == owner_id, seq >= state.low)
    if state.full:
        stmt = stmt.where(col(model.deleted_at).is_(None))
    if after is not None:
        # A row-value comparison, which both databases seek in the (owner_id, sync_seq, id)
        # index; `a > x OR (a = x AND b > y)` scanned from the owner's first row on every page
        # (quadratic over a first sync: 12 minutes for a million interactions on PostgreSQL).
        stmt = stmt.where(tuple_(seq, rid) > (after[1], uuid.UUID(after[2])))
    stmt = stmt.order_by(seq, rid).limit(limit)
    return list((await session.exec(stmt)).all())  # type: ignore[call-overload]


# The flat resources' JSON straight from their rows (app/core/http.py); asks carry their
# etiquette warnings and go through their model.
_ENCODERS = {0: Encoder(ContactPublic), 1: Encoder(InteractionPublic), 3: Encoder(TaskPublic)}


def _columns(model: type[OwnedRecord], shown: type[BaseModel] | None) -> list[Any]:
    """What a page reads of `model`: the columns its encoder shows (each column read costs a
    conversion per row) and those the feed itself needs; every column for asks, whose
    model computes its warnings from them."""
    table = model.__table__  # type: ignore[attr-defined]
    if shown is None:
        return list(table.columns)
    names = {*shown.model_fields, "id", "sync_seq", "deleted_at"}
    return [column for column in table.columns if column.name in names]


_COLUMNS = {
    model: _columns(model, _ENCODERS[index].model if index in _ENCODERS else None)
    for index, (_, model) in enumerate(RESOURCES)
}
_ENCODED = {model for index, (_, model) in enumerate(RESOURCES) if index in _ENCODERS}


async def _changes(
    session: AsyncSession, owner_id: uuid.UUID, rows: list[tuple[int, Any]]
) -> dict[str, Any]:
    """`SyncChanges`'s JSON form: per resource, records to upsert and ids to delete."""
    by_resource: dict[int, list[Any]] = {}
    for index, row in rows:
        by_resource.setdefault(index, []).append(row)
    result: dict[str, Any] = {name: {"upserted": [], "deleted": []} for name, _ in RESOURCES}
    for index, records in by_resource.items():
        name = RESOURCES[index][0]
        live = [r for r in records if r.deleted_at is None]
        deleted = [str(stored_uuid(r.id)) for r in records if r.deleted_at is not None]
        if index == 2:
            warnings = await warnings_for(session, owner_id, live)
            upserted: list[Any] = [
                AskPublic.model_validate(
                    r, from_attributes=True, update={"etiquette_warnings": warnings[r.id]}
                ).model_dump(mode="json")
                for r in live
            ]
        else:
            upserted = _ENCODERS[index].many(live)
        result[name] = {"upserted": upserted, "deleted": deleted}
    return result


async def purge_tombstones(session: AsyncSession, retention: timedelta) -> int:
    """Delete, for every user, up to PURGE_BATCH tombstones per table older than the retention
    (plus a grace); later runs take the rest.

    Children first; a tombstone something still points at (a task at its interaction or ask,
    anything at its contact) stays until that goes too. Rows another runner is purging are
    skipped rather than waited for. Returns the number of rows removed."""
    cutoff = utcnow() - retention - PURGE_GRACE
    t, i, a, c = EtiquetteTask, Interaction, Ask, Contact
    referenced: dict[type[OwnedRecord], list[Any]] = {
        t: [],
        i: [~exists().where(col(t.interaction_id) == col(i.id))],
        a: [~exists().where(col(t.ask_id) == col(a.id))],
        c: [
            ~exists().where(col(m.contact_id) == col(c.id))  # type: ignore[attr-defined]
            for m in (i, a, t)
        ],
    }
    removed = 0
    for model, kept in referenced.items():
        doomed = (
            select(col(model.id))
            .where(col(model.deleted_at) < cutoff, *kept)
            .limit(PURGE_BATCH)
            .with_for_update(skip_locked=True)
        )
        result = await session.exec(delete(model).where(col(model.id).in_(doomed)))  # type: ignore[call-overload]
        removed += result.rowcount
    return removed
