"""Etiquette rules 1–4, applied when an interaction or ask is written (PRODUCT.md "Rules").

1. A completed interaction in person, by video or phone, or a meeting, informational interview
   or event → thank-you note, due 48 h after it.
2. An outgoing ask becomes fulfilled → thank-you note, due 48 h after `resolved_at`.
3. A planned meeting whose time I proposed → confirm the time ("meet at the convenience of
   your contact"), due 72 h before it, or now if that is sooner.
4. A planned meeting without an objective → set one, due 24 h before it, or now.

Each rule makes at most one task per (rule, record), ever: `rule_key` is unique per owner and
the insert ignores conflicts. While the task is pending it follows its record (a rescheduled
meeting moves its due date); when its cause no longer holds the rule dismisses it, and may
reopen it if the cause returns. A task the user closed is never touched again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, Uuid, and_, cast, func, literal, null, or_, true, union_all
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.asks.models import Ask, AskStatus, Direction
from app.contacts.models import Contact
from app.core.db import insert_ignoring_conflicts, session_dialect, utcnow
from app.core.sql import Owners, add_days, at, greatest, new_uuid, uuid_text
from app.etiquette.models import MAX_TITLE, EtiquetteTask, TaskKind, TaskSource, TaskStatus
from app.etiquette.repository import TaskRepository
from app.interactions.models import Channel, Interaction, InteractionKind, InteractionStatus
from app.sync.clock import stamp

# Plain strings: records loaded from the database hold str, not the enums.
THANKED_CHANNELS = {c.value for c in (Channel.in_person, Channel.video, Channel.phone)}
THANKED_KINDS = {
    k.value
    for k in (
        InteractionKind.meeting,
        InteractionKind.informational_interview,
        InteractionKind.event,
    )
}
TASKS_TABLE = EtiquetteTask.__table__  # type: ignore[attr-defined]
MEETING_KINDS = {InteractionKind.meeting.value, InteractionKind.informational_interview.value}


@dataclass(frozen=True)
class Want:
    kind: TaskKind
    title: str
    due: datetime
    # Rules 3 and 4: a due date already past becomes "now" rather than a date in the past.
    not_before_now: bool = False

    def due_at(self, now: datetime, current: datetime | None) -> datetime:
        if not self.not_before_now or self.due >= now:
            return self.due
        # Already due: keep a pending task's date instead of pushing it forward on every write.
        return current if current is not None and current <= now else now


def interaction_wants(interaction: Interaction | None, name: str) -> dict[str, Want | None]:
    """What rules 1, 3 and 4 want for this interaction (None: deleted)."""
    wants: dict[str, Want | None] = {"rule1": None, "rule3": None, "rule4": None}
    if interaction is None:
        return wants
    at = interaction.occurred_at
    status, kind = interaction.status, interaction.kind
    if status == InteractionStatus.completed and (
        interaction.channel in THANKED_CHANNELS or kind in THANKED_KINDS
    ):
        wants["rule1"] = Want(
            TaskKind.thank_you_note, f"Write a thank-you note to {name}", at + timedelta(hours=48)
        )
    if status == InteractionStatus.planned and kind in MEETING_KINDS:
        if interaction.time_proposed_by == "me":
            wants["rule3"] = Want(
                TaskKind.confirm_meeting_time,
                f"Check the meeting time suits {name}",
                at - timedelta(hours=72),
                not_before_now=True,
            )
        if not interaction.objective:
            wants["rule4"] = Want(
                TaskKind.set_objective,
                f"Set an objective for your meeting with {name}",
                at - timedelta(hours=24),
                not_before_now=True,
            )
    return wants


def ask_wants(ask: Ask | None, name: str) -> dict[str, Want | None]:
    """What rule 2 wants for this ask (None: deleted)."""
    if (
        ask is None
        or ask.direction != Direction.outgoing
        or ask.status != AskStatus.fulfilled
        or ask.resolved_at is None
    ):
        return {"rule2": None}
    return {
        "rule2": Want(
            TaskKind.thank_you_note,
            f"Thank {name} for their help",
            ask.resolved_at + timedelta(hours=48),
        )
    }


async def apply(
    session: AsyncSession,
    owner_id: uuid.UUID,
    contact_id: uuid.UUID,
    wants: dict[str, Want | None],
    *,
    interaction_id: uuid.UUID | None = None,
    ask_id: uuid.UUID | None = None,
    before: dict[str, Want | None] | None = None,
) -> None:
    """Make the tasks of one record match what its rules want.

    `before`: what the rules wanted before this write. A pending task moves only when its
    wanted due date did, so an unrelated edit keeps a due date the user chose.
    """
    ref = interaction_id or ask_id
    keys = {rule: f"{rule}:{ref}" for rule in wants}
    now = utcnow()
    tasks = TaskRepository(session, owner_id)
    stmt = select(EtiquetteTask).where(
        col(EtiquetteTask.owner_id) == owner_id,
        col(EtiquetteTask.rule_key).in_(keys.values()),
    )
    existing = {t.rule_key: t for t in (await session.exec(stmt.with_for_update())).all()}

    for rule, want in wants.items():
        task = existing.get(keys[rule])
        if task is not None and task.deleted_at is not None:
            continue  # deleted by the user: gone for good
        if want is None:
            if task is not None and task.status == TaskStatus.pending:
                task.status = TaskStatus.dismissed.value
                task.closed_by = "rule"
                task.closed_at = now
                tasks.touch(task, now)
            continue
        if task is None:
            await session.exec(
                insert_ignoring_conflicts(TASKS_TABLE, tasks.dialect, "owner_id", "rule_key")
                .values(
                    id=uuid.uuid4(), owner_id=owner_id, contact_id=contact_id,
                    created_at=now, updated_at=now, version=1,
                    kind=want.kind.value, title=want.title[:MAX_TITLE],
                    due_at=want.due_at(now, None),
                    status=TaskStatus.pending.value, source=TaskSource.rule.value,
                    rule_key=keys[rule], interaction_id=interaction_id, ask_id=ask_id,
                    sync_seq=stamp(tasks.dialect),
                )
            )  # fmt: skip
        elif task.status == TaskStatus.pending:
            was = (before or {}).get(rule)
            if was is not None and was.due == want.due:
                continue
            due = want.due_at(now, task.due_at)
            if task.due_at != due:
                task.due_at = due
                tasks.touch(task, now)
        elif task.status == TaskStatus.dismissed and task.closed_by == "rule":
            # The cause is back (a cancelled meeting planned again): the same task returns.
            task.status = TaskStatus.pending.value
            task.closed_by = None
            task.closed_at = None
            task.due_at = want.due_at(now, None)
            tasks.touch(task, now)


# ---------------------------------------------------------------------------------------------
# The scheduler's safety net: the same rules as SQL over recently changed records.


async def reconcile(session: AsyncSession, owners: Owners, since: datetime, now: datetime) -> int:
    """Create the rule 1–4 tasks missing for interactions and asks changed since `since`.

    Writes apply these rules in their own transaction, so this normally finds nothing; it
    catches records that reached the database another way. It only inserts, keyed like
    `apply()`, so a task that exists in any state (closed, deleted) is left as it is.
    """
    dialect = session_dialect(session)
    created = 0
    for stmt in (
        _interaction_tasks(dialect, owners, since, now),
        _ask_tasks(dialect, owners, since, now),
    ):
        result = await session.exec(stmt)
        created += result.rowcount  # type: ignore[attr-defined]
    return created


def _task_insert(dialect: str, rows: Any) -> Any:
    columns = [
        "id", "owner_id", "contact_id", "created_at", "updated_at", "version", "kind", "title",
        "due_at", "status", "source", "rule_key", "interaction_id", "ask_id", "sync_seq",
    ]  # fmt: skip
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(TASKS_TABLE)
    return insert.from_select(columns, rows).on_conflict_do_nothing()


def _rows(
    dialect: str,
    now: datetime,
    record: Any,
    rule: str,
    kind: TaskKind,
    title: tuple[str, str],
    due: Any,
    *conditions: Any,
    by_ask: bool = False,
) -> Any:
    c = Contact
    t = EtiquetteTask
    name = literal(title[0], String) + col(c.full_name) + title[1]
    ref = col(record.id)
    key = literal(f"{rule}:", String) + uuid_text(ref, dialect)
    no_ref = cast(null(), Uuid)  # typed: a bare NULL in a UNION reads as text on PostgreSQL
    # A task already there is skipped here, not left to ON CONFLICT: the conflict check waits
    # for any transaction writing that task, such as a contact delete tombstoning it, and the
    # run may hold a task that delete is waiting for (the offer-help locks): a deadlock.
    exists = (
        sa_select(col(t.id))
        .where(col(t.owner_id) == col(record.owner_id), col(t.rule_key) == key)
        .exists()
    )
    return (
        sa_select(
            new_uuid(dialect),
            col(record.owner_id),
            col(record.contact_id),
            at(now, "created_at"),
            at(now, "updated_at"),
            literal(1, Integer),
            literal(kind.value, String),
            func.substr(name, 1, MAX_TITLE, type_=String),
            due,
            literal(TaskStatus.pending.value, String),
            literal(TaskSource.rule.value, String),
            key,
            no_ref if by_ask else ref,
            ref if by_ask else no_ref,
            stamp(dialect),
        )
        .join(c, col(c.id) == col(record.contact_id))
        .where(col(record.deleted_at).is_(None), col(c.deleted_at).is_(None), ~exists, *conditions)
    )


def _interaction_tasks(dialect: str, owners: Owners, since: datetime, now: datetime) -> Any:
    i = Interaction
    changed = (owners(col(i.owner_id)), col(i.updated_at) >= at(since, "since"))
    completed = col(i.status) == InteractionStatus.completed.value
    planned_meeting = and_(
        col(i.status) == InteractionStatus.planned.value, col(i.kind).in_(MEETING_KINDS)
    )

    def not_before_now(days_before: int) -> Any:
        return greatest(
            add_days(col(i.occurred_at), -days_before, dialect), at(now, "now"), dialect
        )

    rule1 = _rows(
        dialect, now, i, "rule1", TaskKind.thank_you_note, ("Write a thank-you note to ", ""),
        add_days(col(i.occurred_at), 2, dialect),
        *changed, completed,
        or_(col(i.channel).in_(THANKED_CHANNELS), col(i.kind).in_(THANKED_KINDS)),
    )  # fmt: skip
    rule3 = _rows(
        dialect, now, i, "rule3", TaskKind.confirm_meeting_time,
        ("Check the meeting time suits ", ""), not_before_now(3),
        *changed, planned_meeting, col(i.time_proposed_by) == "me",
    )  # fmt: skip
    rule4 = _rows(
        dialect, now, i, "rule4", TaskKind.set_objective,
        ("Set an objective for your meeting with ", ""), not_before_now(1),
        *changed, planned_meeting, or_(col(i.objective).is_(None), col(i.objective) == ""),
    )  # fmt: skip
    return _task_insert(dialect, union_all(rule1, rule3, rule4).subquery().select().where(true()))


def _ask_tasks(dialect: str, owners: Owners, since: datetime, now: datetime) -> Any:
    a = Ask
    rule2 = _rows(
        dialect, now, a, "rule2", TaskKind.thank_you_note, ("Thank ", " for their help"),
        add_days(col(a.resolved_at), 2, dialect),
        owners(col(a.owner_id)), col(a.updated_at) >= at(since, "since"),
        col(a.direction) == Direction.outgoing.value,
        col(a.status) == AskStatus.fulfilled.value, col(a.resolved_at).is_not(None),
        by_ask=True,
    )  # fmt: skip
    return _task_insert(dialect, rule2)
