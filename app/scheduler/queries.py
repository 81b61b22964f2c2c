"""Follow-ups and reciprocity as SQL: one statement per question, for one user or a batch.

Nothing here loads a user's interactions or asks into Python. Every query takes `owners`, a
condition on an `owner_id` column, so the same SQL serves one caller and a batch of users.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    Uuid,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.sql import ColumnElement, CompoundSelect, Select
from sqlmodel import col

from app.asks.models import Ask, AskStatus, Direction
from app.asks.reciprocity import STANCE_THRESHOLD
from app.asks.repository import Owners, balances, taking
from app.contacts.models import Contact
from app.core.sql import add_days, at, const, time_text, uuid_text
from app.core.vocabulary import CIRCLE_CADENCE_DAYS, Circle
from app.etiquette.models import EtiquetteTask, TaskKind, TaskStatus
from app.interactions.models import Interaction, InteractionStatus

NUDGE_AFTER = timedelta(days=14)
ZERO = timedelta(0)
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


def _due_by_stored_date(owners: Owners, as_of: datetime) -> list[ColumnElement[bool]]:
    """Tracked contacts overdue by their stored due date: those last reached by `as_of`."""
    c = Contact
    t = at(as_of, "as_of")
    return [
        *_tracked(owners, as_of),
        or_(col(c.last_contacted_at).is_(None), col(c.last_contacted_at) <= t),
        col(c.follow_up_due_at) < t,
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
    task for it yet or one the rule dismissed (the run makes it pending again), or reached
    after `as_of` (their due date as of then is computed). A contact delete locks the contact
    before it tombstones the contact's tasks; re-pending a task without holding its contact
    could deadlock with it.
    """
    c = Contact
    t = at(as_of, "as_of")
    task = EtiquetteTask
    settled = (
        select(col(task.id))
        .where(
            col(task.owner_id) == col(c.owner_id),
            col(task.rule_key) == reconnect_key(dialect, col(c.id), col(c.follow_up_due_at)),
            or_(  # not a live task the rule dismissed
                col(task.status) != TaskStatus.dismissed.value,
                col(task.closed_by).is_distinct_from("rule"),
                col(task.deleted_at).is_not(None),
            ),
        )
        .exists()
    )
    return (
        select(col(c.id))
        .where(
            *_tracked(owners, as_of),
            or_(
                and_(col(c.follow_up_due_at) < t, ~settled),
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
    it (one backward probe of the partial index of completed interactions each).
    """
    c = Contact
    t = at(as_of, "as_of")
    current: Any = select(
        col(c.owner_id).label("owner_id"),
        col(c.id).label("contact_id"),
        col(c.full_name).label("contact_name"),
        col(c.follow_up_due_at).label("due"),
    ).where(*_due_by_stored_date(owners, as_of))
    rewound = _rewound(dialect, owners, as_of)
    return current.union_all(select(rewound).where(rewound.c.due < t))


def _rewound(dialect: str, owners: Owners, as_of: datetime) -> Any:
    """(owner_id, contact_id, contact_name, due) of the tracked contacts reached after `as_of`,
    with the due date they had as of then."""
    c = Contact
    i = Interaction
    t = at(as_of, "as_of")
    latest_before = (
        select(func.max(col(i.occurred_at)))
        .where(
            col(i.contact_id) == col(c.id),
            col(i.status) == const(InteractionStatus.completed.value),
            col(i.deleted_at).is_(None),
            col(i.occurred_at) <= t,
        )
        .scalar_subquery()
    )
    since = func.coalesce(latest_before, col(c.created_at))
    return (
        select(
            col(c.owner_id).label("owner_id"),
            col(c.id).label("contact_id"),
            col(c.full_name).label("contact_name"),
            add_days(since, cadence(), dialect).label("due"),
        )
        .where(*_tracked(owners, as_of), col(c.last_contacted_at) > t)
        .subquery()
    )


@dataclass(frozen=True)
class After:
    """A follow-up page's position: the sort key (due, rank, key) of the last item served."""

    due: datetime
    rank: int
    key: uuid.UUID


def _after(after: After | None, rank: int, due: Any, key: Any, shift: timedelta = ZERO) -> Any:
    """The rows of one branch (all of rank `rank`) that sort after `after`.

    `shift`: the branch compares a column that is `due - shift`, so that an index on it serves
    (nudges compare `created_at`, their due date being 14 days later).
    """
    if after is None:
        return true()
    bound = at(after.due - shift, f"after_{rank}")
    if rank > after.rank:
        return due >= bound
    if rank < after.rank:
        return due > bound
    return or_(due > bound, and_(due == bound, key > after.key))


def follow_up_items(
    dialect: str,
    owners: Owners,
    as_of: datetime,
    *,
    after: After | None = None,
    limit: int | None = None,
) -> Any:
    """Follow-up items as of `as_of`, as a subquery of (rank, contact_id, due, key,
    reference_id), each kind read in due order from its own index.

    With `limit`, each branch stops after `limit` rows past `after`: the first `limit` rows of
    the union (ordered by due, rank, key) are among them, so a page never sorts every item.
    """
    t = at(as_of, "as_of")
    c = Contact

    def cut(stmt: Any, *order: Any) -> Any:
        return stmt.order_by(*order).limit(limit) if limit is not None else stmt

    def branch(stmt: Any) -> Any:
        return select(stmt.subquery())

    rank = RANKS["reconnect"]
    current = cut(
        select(
            literal(rank, Integer).label("rank"),
            col(c.id).label("contact_id"),
            col(c.follow_up_due_at).label("due"),
            col(c.id).label("key"),
            cast(null(), Uuid).label("reference_id"),
        ).where(
            *_due_by_stored_date(owners, as_of),
            _after(after, rank, col(c.follow_up_due_at), col(c.id)),
        ),
        col(c.follow_up_due_at),
        col(c.id),
    )
    rewound_all = _rewound(dialect, owners, as_of)
    rewound = cut(
        select(
            literal(rank, Integer).label("rank"),
            rewound_all.c.contact_id,
            rewound_all.c.due,
            rewound_all.c.contact_id.label("key"),
            cast(null(), Uuid).label("reference_id"),
        ).where(
            rewound_all.c.due < t,
            _after(after, rank, rewound_all.c.due, rewound_all.c.contact_id),
        ),
        rewound_all.c.due,
        rewound_all.c.contact_id,
    )

    task = EtiquetteTask
    rank = RANKS["etiquette_task"]
    tasks = cut(
        select(
            literal(rank, Integer).label("rank"),
            col(task.contact_id),
            col(task.due_at).label("due"),
            col(task.id).label("key"),
            col(task.id).label("reference_id"),
        ).where(
            owners(col(task.owner_id)),
            col(task.status) == const(TaskStatus.pending.value),
            col(task.due_at) < t,
            col(task.deleted_at).is_(None),
            # The reconnect item stands for the contact's reconnect task.
            col(task.kind) != const(TaskKind.reconnect.value),
            _after(after, rank, col(task.due_at), col(task.id)),
        ),
        col(task.due_at),
        col(task.id),
    )

    rank = RANKS["promise"]
    promises = cut(
        select(
            literal(rank, Integer).label("rank"),
            col(Ask.contact_id),
            col(Ask.due_at).label("due"),
            col(Ask.id).label("key"),
            col(Ask.id).label("reference_id"),
        ).where(
            owners(col(Ask.owner_id)),
            col(Ask.status) == AskStatus.accepted.value,
            col(Ask.direction) == Direction.incoming.value,
            col(Ask.due_at) < t,
            col(Ask.deleted_at).is_(None),
            _after(after, rank, col(Ask.due_at), col(Ask.id)),
        ),
        col(Ask.due_at),
        col(Ask.id),
    )

    rank = RANKS["nudge"]
    nudges = cut(
        select(
            literal(rank, Integer).label("rank"),
            col(Ask.contact_id),
            add_days(col(Ask.created_at), literal(NUDGE_AFTER.days, Integer), dialect).label("due"),
            col(Ask.id).label("key"),
            col(Ask.id).label("reference_id"),
        ).where(
            owners(col(Ask.owner_id)),
            col(Ask.status) == AskStatus.open.value,
            col(Ask.direction) == Direction.outgoing.value,
            col(Ask.created_at) < at(as_of - NUDGE_AFTER, "nudge_before"),
            col(Ask.deleted_at).is_(None),
            _after(after, rank, col(Ask.created_at), col(Ask.id), shift=NUDGE_AFTER),
        ),
        col(Ask.created_at),
        col(Ask.id),
    )
    parts = [current, rewound, tasks, promises, nudges]
    if limit is not None:  # ORDER BY … LIMIT inside a UNION branch needs its own subquery
        parts = [branch(part) for part in parts]
    return union_all(*parts).subquery("follow_ups")


def taking_contacts(dialect: str, owners: Owners, as_of: datetime) -> Any:
    """(owner_id, contact_id) of the live contacts whose stance as of `as_of` is `taking`.

    Contacts with no help resolved after `as_of` read their stored score (app/asks/balance.py);
    only the others have their asks summed.
    """
    c = Contact
    t = at(as_of, "as_of")
    stored: Any = select(col(c.owner_id).label("owner_id"), col(c.id).label("contact_id")).where(
        owners(col(c.owner_id)),
        col(c.deleted_at).is_(None),
        col(c.last_resolved_at) <= t,
        col(c.reciprocity_score) < -STANCE_THRESHOLD,
    )
    rewound = select(col(c.id)).where(owners(col(c.owner_id)), col(c.last_resolved_at) > t)
    b = balances(dialect, owners, as_of, contact_ids=rewound).subquery()
    summed = (
        select(b.c.owner_id, b.c.contact_id)
        .join(c, col(c.id) == b.c.contact_id)
        .where(col(c.deleted_at).is_(None), taking(b.c.given, b.c.received))
    )
    return union_all(stored, summed).subquery("taking")
