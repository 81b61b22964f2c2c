"""Follow-ups and reciprocity as SQL: one statement per question, for one user or a batch.

Nothing here loads a user's interactions or asks into Python. Every query takes `owners`, a
condition on an `owner_id` column, so the same SQL serves one caller and a batch of users.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, and_, case, func, literal, null, or_, select, union_all
from sqlalchemy.sql import ColumnElement, CompoundSelect, Select
from sqlmodel import col

from app.asks.models import Ask, AskStatus, Direction
from app.asks.repository import Owners
from app.contacts.models import Contact
from app.core.sql import add_days, at, time_text, uuid_text
from app.core.vocabulary import CIRCLE_CADENCE_DAYS, Circle
from app.etiquette.models import EtiquetteTask, TaskKind, TaskStatus
from app.interactions.models import Interaction, InteractionStatus

NUDGE_AFTER = timedelta(days=14)
# Ties on the due date: reconnect first, then tasks, promises, nudges.
RANKS = {"reconnect": 0, "etiquette_task": 1, "promise": 2, "nudge": 3}


def cadence(c: type[Contact] = Contact) -> ColumnElement[int]:
    by_circle = case(
        {circle.value: days for circle, days in CIRCLE_CADENCE_DAYS.items()},
        value=col(c.circle),
        else_=CIRCLE_CADENCE_DAYS[Circle.other],
    )
    return func.coalesce(col(c.cadence_days), by_circle)


def _tracked(owners: Owners, as_of: datetime) -> list[ColumnElement[bool]]:
    c = Contact
    return [
        owners(col(c.owner_id)),
        col(c.deleted_at).is_(None),
        col(c.track_follow_ups).is_(True),
        or_(col(c.snoozed_until).is_(None), col(c.snoozed_until) <= at(as_of, "as_of")),
    ]


def reconnect_key(dialect: str, contact_id: Any, due: Any) -> ColumnElement[str]:
    """Rule 5's task key in SQL, equal to `follow_up.reconnect_key()` in Python."""
    return (
        literal("rule5:", String) + uuid_text(contact_id, dialect) + ":" + time_text(due, dialect)
    )


def reconnect_candidates(dialect: str, owners: Owners, as_of: datetime) -> Select[Any]:
    """Contacts a run may give a reconnect task, to lock (FOR NO KEY UPDATE) before it does.

    A write that moves a contact's due date holds the same lock, so the run and the write
    cannot interleave: the run either sees the write or the write sees the run's task. Only
    contacts that may still need a task are locked: overdue by their stored due date with no
    task for it yet, or reached after `as_of` (their due date as of then is computed).
    """
    c = Contact
    t = at(as_of, "as_of")
    task = EtiquetteTask
    has_task = (
        select(col(task.id))
        .where(
            col(task.owner_id) == col(c.owner_id),
            col(task.rule_key) == reconnect_key(dialect, col(c.id), col(c.follow_up_due_at)),
        )
        .exists()
    )
    return (
        select(col(c.id))
        .where(
            *_tracked(owners, as_of),
            or_(
                and_(col(c.follow_up_due_at) < t, ~has_task),
                col(c.last_contacted_at) > t,
            ),
        )
        .order_by(col(c.id))
        .with_for_update(key_share=True)
    )


def overdue_contacts(dialect: str, owners: Owners, as_of: datetime) -> CompoundSelect[Any]:
    """(owner_id, contact_id, contact_name, due) of every contact overdue as of `as_of`.

    Contacts last reached no later than `as_of` use the maintained due date (an index range
    scan); the few with a completed interaction after `as_of` look up their latest one before
    it (one backward probe of (contact_id, status, occurred_at) each).
    """
    c = Contact
    t = at(as_of, "as_of")
    current: Any = select(
        col(c.owner_id).label("owner_id"),
        col(c.id).label("contact_id"),
        col(c.full_name).label("contact_name"),
        col(c.follow_up_due_at).label("due"),
    ).where(
        *_tracked(owners, as_of),
        or_(col(c.last_contacted_at).is_(None), col(c.last_contacted_at) <= t),
        col(c.follow_up_due_at) < t,
    )
    i = Interaction
    latest_before = (
        select(func.max(col(i.occurred_at)))
        .where(
            col(i.contact_id) == col(c.id),
            col(i.status) == InteractionStatus.completed.value,
            col(i.deleted_at).is_(None),
            col(i.occurred_at) <= t,
        )
        .scalar_subquery()
    )
    since = func.coalesce(latest_before, col(c.created_at))
    rewound = (
        select(
            col(c.owner_id).label("owner_id"),
            col(c.id).label("contact_id"),
            col(c.full_name).label("contact_name"),
            add_days(since, cadence(), dialect).label("due"),
        )
        .where(*_tracked(owners, as_of), col(c.last_contacted_at) > t)
        .subquery()
    )
    return current.union_all(select(rewound).where(rewound.c.due < t))


def follow_up_items(dialect: str, owners: Owners, as_of: datetime) -> Any:
    """Every follow-up item as of `as_of`, as a subquery of
    (rank, contact_id, contact_name, due, key, reference_id)."""
    t = at(as_of, "as_of")
    c = Contact
    overdue = overdue_contacts(dialect, owners, as_of).subquery()
    reconnect = select(
        literal(RANKS["reconnect"], Integer).label("rank"),
        overdue.c.contact_id,
        overdue.c.contact_name,
        overdue.c.due,
        overdue.c.contact_id.label("key"),
        null().label("reference_id"),
    )
    task = EtiquetteTask
    tasks: Any = (
        select(
            literal(RANKS["etiquette_task"], Integer).label("rank"),
            col(task.contact_id),
            col(c.full_name).label("contact_name"),
            col(task.due_at).label("due"),
            col(task.id).label("key"),
            col(task.id).label("reference_id"),
        )
        .join(c, col(c.id) == col(task.contact_id))
        .where(
            owners(col(task.owner_id)),
            col(task.deleted_at).is_(None),
            col(task.status) == TaskStatus.pending.value,
            # The reconnect item stands for the contact's reconnect task.
            col(task.kind) != TaskKind.reconnect.value,
            col(task.due_at) < t,
            col(c.deleted_at).is_(None),
        )
    )

    def asks(rank: str, due: Any, *conditions: ColumnElement[bool]) -> Select[Any]:
        return (
            select(
                literal(RANKS[rank], Integer).label("rank"),
                col(Ask.contact_id),
                col(c.full_name).label("contact_name"),
                due.label("due"),
                col(Ask.id).label("key"),
                col(Ask.id).label("reference_id"),
            )
            .join(c, col(c.id) == col(Ask.contact_id))
            .where(
                owners(col(Ask.owner_id)),
                col(Ask.deleted_at).is_(None),
                col(c.deleted_at).is_(None),
                *conditions,
            )
        )

    promises = asks(
        "promise",
        col(Ask.due_at),
        col(Ask.status) == AskStatus.accepted.value,
        col(Ask.direction) == Direction.incoming.value,
        col(Ask.due_at) < t,
    )
    nudges = asks(
        "nudge",
        add_days(col(Ask.created_at), literal(NUDGE_AFTER.days, Integer), dialect),
        col(Ask.status) == AskStatus.open.value,
        col(Ask.direction) == Direction.outgoing.value,
        col(Ask.created_at) < at(as_of - NUDGE_AFTER, "nudge_before"),
    )
    return union_all(reconnect, tasks, promises, nudges).subquery("follow_ups")
