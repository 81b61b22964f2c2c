"""Keep-in-touch state kept on each contact, so that follow-ups as of now are an index scan.

PRODUCT.md: a tracked contact is due at `last + cadence`, where `last` is the latest
`occurred_at` ≤ T of its completed interactions (or its `created_at` if none). Each contact
stores `last_contacted_at` (that latest time over all its completed interactions) and
`follow_up_due_at` (`(last_contacted_at or created_at) + cadence`). Both are rewritten, under
the contact's row lock, by every write that can change them: an interaction created, changed or
deleted, or the contact's cadence or circle changed. For any T ≥ `last_contacted_at` the stored
due date is the answer; only contacts with a completed interaction after T need their history
(app/scheduler/queries.py).

Rule 5's reconnect tasks follow the same writes: a pending one that no longer matches the
contact's due date (an interaction was logged, the contact was snoozed or untracked) is
dismissed, and one the rule dismissed comes back if its due date does.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.contacts.models import Contact
from app.core.db import session_dialect, utcnow
from app.core.sql import const, time_key
from app.core.vocabulary import CIRCLE_CADENCE_DAYS, Circle
from app.etiquette.models import EtiquetteTask, TaskKind, TaskSource, TaskStatus
from app.interactions.models import Interaction, InteractionStatus
from app.sync.clock import stamp


def cadence_days(contact: Contact) -> int:
    return contact.cadence_days or CIRCLE_CADENCE_DAYS[Circle(contact.circle)]


def due_at(contact: Contact) -> datetime:
    return (contact.last_contacted_at or contact.created_at) + timedelta(days=cadence_days(contact))


def is_tracked_at(contact: Contact, moment: datetime) -> bool:
    snoozed = contact.snoozed_until is not None and contact.snoozed_until > moment
    return contact.track_follow_ups and not snoozed


def reconnect_key(contact_id: uuid.UUID, due: datetime) -> str:
    """Rule 5's task key: one task per (contact, due date), ever."""
    return f"rule5:{contact_id}:{time_key(due)}"


async def latest_completed(session: AsyncSession, contact_id: uuid.UUID) -> datetime | None:
    stmt = select(func.max(col(Interaction.occurred_at))).where(
        col(Interaction.contact_id) == contact_id,
        col(Interaction.status) == const(InteractionStatus.completed.value),
        col(Interaction.deleted_at).is_(None),
    )
    latest: datetime | None = (await session.exec(stmt)).one()
    return latest


async def refresh(
    session: AsyncSession, contact: Contact, *, recount: bool, now: datetime | None = None
) -> None:
    """Bring the contact's follow-up state up to date. The caller holds its row lock.

    `recount`: its interactions changed, so `last_contacted_at` is read again.
    """
    now = now or utcnow()
    if recount:
        contact.last_contacted_at = await latest_completed(session, contact.id)
    contact.follow_up_due_at = due_at(contact)
    session.add(contact)
    await session.flush()
    await _follow_reconnect_tasks(session, contact, now)


async def _follow_reconnect_tasks(session: AsyncSession, contact: Contact, now: datetime) -> None:
    t = EtiquetteTask
    rule5 = (
        col(t.owner_id) == contact.owner_id,
        col(t.contact_id) == contact.id,
        col(t.kind) == TaskKind.reconnect.value,
        col(t.source) == TaskSource.rule.value,
        col(t.deleted_at).is_(None),
    )
    due = contact.follow_up_due_at
    overdue = (
        contact.deleted_at is None and due is not None and due < now and is_tracked_at(contact, now)
    )
    key = reconnect_key(contact.id, due) if overdue and due is not None else None
    bump = {
        "updated_at": now,
        "version": col(t.version) + 1,
        "sync_seq": stamp(session_dialect(session)),
    }
    stale = [col(t.status) == TaskStatus.pending.value]
    if key is not None:
        stale.append(col(t.rule_key) != key)
        # The same due date is back (an interaction deleted again): so is its task.
        await session.exec(
            update(t)
            .where(
                *rule5,
                col(t.rule_key) == key,
                col(t.status) == TaskStatus.dismissed.value,
                col(t.closed_by) == "rule",
            )
            .values(status=TaskStatus.pending.value, closed_by=None, closed_at=None, **bump)
        )
    await session.exec(
        update(t)
        .where(*rule5, *stale)
        .values(status=TaskStatus.dismissed.value, closed_by="rule", closed_at=now, **bump)
    )
