"""Queries for the calendar feed: its owner by token, and what the feed shows. Never commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, not_, or_, select, type_coerce
from sqlmodel import col
from sqlmodel import select as select_model
from sqlmodel.ext.asyncio.session import AsyncSession

from app.asks.models import Ask
from app.auth.models import User
from app.contacts.models import Contact
from app.core.db import UTCDateTime, session_dialect
from app.core.sql import at
from app.etiquette.models import EtiquetteTask, TaskKind, TaskSource, TaskStatus
from app.scheduler.queries import RANKS, follow_up_items


async def user_by_token_hash(session: AsyncSession, token_hash: str) -> User | None:
    stmt = select_model(User).where(col(User.calendar_token_hash) == token_hash)
    return (await session.exec(stmt)).first()


@dataclass(frozen=True)
class FollowUpRow:
    """A reconnect, promise or nudge item of the follow-up list."""

    rank: int
    contact_id: uuid.UUID
    contact_name: str
    due: datetime
    key: uuid.UUID
    # The ask of a promise or nudge (None for reconnect items).
    statement: str | None
    # When the record behind the item last changed: the event's DTSTAMP.
    changed_at: datetime


@dataclass(frozen=True)
class TaskRow:
    id: uuid.UUID
    kind: str
    source: str
    title: str
    due: datetime | None
    contact_name: str
    changed_at: datetime


async def follow_up_rows(
    session: AsyncSession, owner_id: uuid.UUID, now: datetime, until: datetime, limit: int
) -> list[FollowUpRow]:
    """Reconnect, promise and nudge items overdue now or due before `until`, earliest first.

    They are the follow-up list's items as of `until` (app/scheduler/queries.py: the same SQL
    as `GET /v1/follow-ups`), less the contacts snoozed *now*: a snooze hides the reconnect
    reminder until it ends, so the feed shows it once the snooze is over. Pending tasks are
    read by `pending_tasks` instead (the feed shows them whatever their date).
    """
    items = follow_up_items(session_dialect(session), lambda c: c == owner_id, until)
    c = Contact
    asks = (RANKS["promise"], RANKS["nudge"])
    stmt = (
        select(
            items.c.rank,
            items.c.contact_id,
            col(c.full_name),
            items.c.due,
            items.c.key,
            col(Ask.statement),
            func.coalesce(col(Ask.updated_at), col(c.updated_at)),
        )
        .join(c, col(c.id) == items.c.contact_id)
        .outerjoin(Ask, and_(items.c.rank.in_(asks), col(Ask.id) == items.c.reference_id))
        .where(
            items.c.rank != RANKS["etiquette_task"],
            or_(
                items.c.rank != RANKS["reconnect"],
                col(c.snoozed_until).is_(None),
                col(c.snoozed_until) <= at(now, "calendar_now"),
            ),
        )
        .order_by(items.c.due, items.c.rank, items.c.key)
        .limit(limit)
    )
    rows = (await session.exec(stmt)).all()  # type: ignore[call-overload]
    return [FollowUpRow(*row) for row in rows]


def _feed_due(now: datetime) -> Any:
    # An undated task counts as due now: it stands on today, among the overdue items.
    return type_coerce(
        func.coalesce(col(EtiquetteTask.due_at), at(now, "calendar_undated")), UTCDateTime
    )


async def pending_tasks(
    session: AsyncSession, owner_id: uuid.UUID, now: datetime, limit: int
) -> list[TaskRow]:
    """Every pending, live task of the owner, earliest first (undated ones as due now).

    Reconnect tasks made by rule 5 are left out: the reconnect item of their contact and due
    date stands for them, as in the follow-up list. A reconnect task written by hand stays.
    """
    t = EtiquetteTask
    c = Contact
    stmt = (
        select(
            col(t.id),
            col(t.kind),
            col(t.source),
            col(t.title),
            col(t.due_at),
            col(c.full_name),
            col(t.updated_at),
        )
        .join(c, col(c.id) == col(t.contact_id))
        .where(
            col(t.owner_id) == owner_id,
            col(t.status) == TaskStatus.pending.value,
            col(t.deleted_at).is_(None),
            col(c.deleted_at).is_(None),
            not_(
                and_(
                    col(t.kind) == TaskKind.reconnect.value,
                    col(t.source) == TaskSource.rule.value,
                )
            ),
        )
        .order_by(_feed_due(now), col(t.id))
        .limit(limit)
    )
    rows = (await session.exec(stmt)).all()  # type: ignore[call-overload]
    return [TaskRow(*row) for row in rows]
