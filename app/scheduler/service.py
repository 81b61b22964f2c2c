"""Follow-ups, reciprocity, and the scheduler run that turns them into tasks (rules 5 and 6).

Every answer is computed from the stored state as of a moment, so a run can be repeated,
overlapped or skipped: the next one catches up. Tasks are written with INSERT … SELECT … ON
CONFLICT DO NOTHING against unique keys, never check-then-insert, so concurrent runners create
each task once.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    Uuid,
    and_,
    bindparam,
    case,
    func,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.asks import balance
from app.asks.reciprocity import Balance
from app.asks.repository import AskRepository, Owners, balances
from app.auth.models import User
from app.contacts import follow_up
from app.contacts import service as contacts
from app.contacts.models import Contact
from app.core.db import Database, session_dialect, utcnow
from app.core.errors import BadRequest
from app.core.idempotency import purge_expired as purge_expired_keys
from app.core.pagination import CursorCodec
from app.core.sql import at, const, new_uuid
from app.etiquette import rules
from app.etiquette.models import (
    MAX_TITLE,
    EtiquetteTask,
    TaskKind,
    TaskSource,
    TaskStatus,
)
from app.scheduler.models import (
    AllUsersRun,
    BalancePublic,
    BatchRun,
    ContactReciprocity,
    FollowUp,
    FollowUpPage,
    FollowUpType,
    ReciprocityPage,
    UserRun,
    balance_fields,
)
from app.scheduler.queries import (
    NUDGE_AFTER,
    RANKS,
    After,
    follow_up_items,
    overdue_contacts,
    reconnect_candidates,
    reconnect_key,
    taking_contacts,
)
from app.sync.clock import stamp
from app.sync.service import purge_tombstones

OFFER_HELP_DUE = timedelta(days=7)
# Rules 1–4 are re-checked over the records changed this recently (a safety net; see rules.py).
RECONCILE_WINDOW = timedelta(days=7)
# Rule 6 waits this long after the user closed (or deleted) the contact's last offer_help task.
OFFER_HELP_QUIET = timedelta(days=30)
_TYPES = {rank: FollowUpType(name) for name, rank in RANKS.items()}
_BAD_CURSOR = "The cursor does not belong to this list; start again without one."


async def _rows(
    session: AsyncSession, stmt: Any, params: dict[str, Any] | None = None
) -> list[Any]:
    # SQLModel's exec is typed for its own select(); SQLAlchemy's rows work all the same.
    return list((await session.exec(stmt, params=params)).all())


def _one_owner(owner_id: uuid.UUID) -> Owners:
    return lambda column: column == owner_id


def _read_cursor(
    codec: CursorCodec, cursor: str | None, purpose: str, as_of: datetime | None
) -> tuple[datetime | None, dict[str, Any] | None]:
    """The `as_of` a cursor was issued for (it wins over a default), and its position."""
    if cursor is None:
        return as_of, None
    data = codec.decode(cursor)
    try:
        if data.get("p") != purpose:
            raise ValueError(purpose)
        pinned = datetime.fromisoformat(data["a"])
    except (KeyError, TypeError, ValueError):
        raise BadRequest(_BAD_CURSOR) from None
    if as_of is not None and as_of != pinned:
        raise BadRequest("This cursor was issued for another `as_of`; send the same one or none.")
    return pinned, data


# ---------------------------------------------------------------------------------------------
# Follow-ups


async def follow_ups_page(
    session: AsyncSession,
    owner_id: uuid.UUID,
    codec: CursorCodec,
    *,
    as_of: datetime | None,
    limit: int,
    cursor: str | None,
) -> FollowUpPage:
    # Cursors name their owner: another user's is a 400, not a page from their position.
    purpose = f"follow-ups:{owner_id}"
    as_of, position = _read_cursor(codec, cursor, purpose, as_of)
    as_of = as_of or utcnow()
    after = None
    if position is not None:
        try:
            after = After(
                datetime.fromisoformat(position["d"]), int(position["r"]), uuid.UUID(position["k"])
            )
        except (KeyError, TypeError, ValueError):
            raise BadRequest(_BAD_CURSOR) from None
    dialect = session_dialect(session)
    if after is None:
        # The first page's statement is built once and bound per call.
        params = {
            "owner_id": owner_id,
            "as_of": as_of,
            "nudge_before": as_of - NUDGE_AFTER,
            "page_limit": limit + 1,
        }
        rows = list((await session.exec(_first_follow_up_page(dialect), params=params)).all())
    else:
        rows = await _rows(
            session, _follow_up_page(dialect, _one_owner(owner_id), as_of, after, limit + 1)
        )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = codec.encode(
            {
                "p": purpose,
                "a": as_of.isoformat(),
                "d": last.due.isoformat(),
                "r": last.rank,
                "k": str(last.key),
            }
        )
    tasks = await _reconnect_tasks(session, owner_id, rows)
    day = timedelta(days=1)
    # Made with `model_construct`: every value is computed here from stored ones, and
    # validating 50 items (SQLModel's init, the time validators) was a sixth of the request.
    return FollowUpPage.model_construct(
        as_of=as_of,
        items=[
            FollowUp.model_construct(
                type=_TYPES[row.rank],
                contact_id=row.contact_id,
                contact_name=row.contact_name,
                due_at=row.due,
                days_overdue=(as_of - row.due) // day,
                reference_id=row.reference_id or tasks.get((row.contact_id, row.due)),
            )
            for row in rows
        ],
        next_cursor=next_cursor,
    )


def _follow_up_page(
    dialect: str, owners: Owners, as_of: datetime, after: After | None, limit: Any
) -> Any:
    items = follow_up_items(dialect, owners, as_of, after=after, limit=limit)
    # Names are joined to the page only, after every branch has stopped at the page size.
    return (
        select(items, col(Contact.full_name).label("contact_name"))
        .join(Contact, col(Contact.id) == items.c.contact_id)
        .order_by(items.c.due, items.c.rank, items.c.key)
        .limit(limit)
    )


_FIRST_PAGES: dict[str, Any] = {}


def _first_follow_up_page(dialect: str) -> Any:
    """The first page's statement with its values as named parameters (`owner_id`, `as_of`,
    `nudge_before`, `page_limit`): building the five-branch union cost more CPU than
    PostgreSQL spends running it (about 6 ms a request, measured with the HTTP benchmark)."""
    stmt = _FIRST_PAGES.get(dialect)
    if stmt is None:
        owner = bindparam("owner_id", type_=Uuid)
        placeholder = datetime(2000, 1, 1, tzinfo=UTC)  # replaced by the call's as_of
        stmt = _FIRST_PAGES[dialect] = _follow_up_page(
            dialect,
            lambda column: column == owner,
            placeholder,
            None,
            bindparam("page_limit", type_=Integer),
        )
    return stmt


async def _reconnect_tasks(
    session: AsyncSession, owner_id: uuid.UUID, rows: list[Any]
) -> dict[tuple[uuid.UUID, datetime], uuid.UUID]:
    """The pending rule-5 task of each reconnect item on the page, if the scheduler made one."""
    wanted = {
        follow_up.reconnect_key(row.contact_id, row.due): (row.contact_id, row.due)
        for row in rows
        if row.rank == RANKS["reconnect"]
    }
    if not wanted:
        return {}
    found = await _rows(
        session, _pending_by_rule_key(), {"owner_id": owner_id, "rule_keys": list(wanted)}
    )
    return {wanted[key]: task_id for key, task_id in found}


@functools.cache
def _pending_by_rule_key() -> Any:
    """Pending tasks' (rule_key, id) among `rule_keys` (a list), built once like the page."""
    t = EtiquetteTask.__table__  # type: ignore[attr-defined]
    return select(t.c.rule_key, t.c.id).where(
        t.c.owner_id == bindparam("owner_id"),
        t.c.rule_key.in_(bindparam("rule_keys", expanding=True)),
        t.c.status == TaskStatus.pending.value,
        t.c.deleted_at.is_(None),
    )


# ---------------------------------------------------------------------------------------------
# Reciprocity


async def reciprocity_page(
    session: AsyncSession,
    owner_id: uuid.UUID,
    codec: CursorCodec,
    *,
    as_of: datetime | None,
    limit: int,
    cursor: str | None,
) -> ReciprocityPage:
    purpose = f"reciprocity:{owner_id}"  # names its owner, as follow-up cursors do
    as_of, position = _read_cursor(codec, cursor, purpose, as_of)
    as_of = as_of or utcnow()
    after: tuple[float, uuid.UUID] | None = None
    if position is not None:
        try:
            after = float(position["s"]), uuid.UUID(position["k"])
        except (KeyError, TypeError, ValueError):
            raise BadRequest(_BAD_CURSOR) from None
    latest, _, _ = _reciprocity_statements()
    resolved_by = (await session.exec(latest, params={"owner_id": owner_id})).one()[0]
    if resolved_by is None or resolved_by <= as_of:
        page = await _stored_reciprocity(session, owner_id, as_of, after, limit)
    else:  # some help was recorded after as_of: sum the asks as of then
        page = await _summed_reciprocity(session, owner_id, as_of, after, limit)
    network, rows = page
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = codec.encode(
            {"p": purpose, "a": as_of.isoformat(), "s": last[2], "k": str(last[0])}
        )
    return ReciprocityPage(
        as_of=as_of,
        network=BalancePublic.of(network),
        contacts=[
            ContactReciprocity.model_construct(contact_id=contact_id, **balance_fields(b))
            for contact_id, b, _ in rows
        ],
        next_cursor=next_cursor,
    )


_Ranked = list[tuple[uuid.UUID, Balance, float]]


@functools.cache
def _reciprocity_statements() -> tuple[Any, Any, Any]:
    """The owner's latest resolution, the first page of stored scores and their totals, with
    `owner_id` and `page_limit` as named parameters: built once (building them cost about as
    much CPU as running them)."""
    c = Contact
    owner = col(c.owner_id) == bindparam("owner_id")
    score = col(c.reciprocity_score)
    mine = (owner, col(c.deleted_at).is_(None), score.is_not(None))
    latest = select(func.max(col(c.last_resolved_at))).where(owner)
    first_page = (
        select(col(c.id), col(c.reciprocity_given), col(c.reciprocity_received), score)
        .where(*mine)
        .order_by(score, col(c.id))
        .limit(bindparam("page_limit", type_=Integer))
    )
    totals = select(
        func.sum(col(c.reciprocity_given)), func.sum(col(c.reciprocity_received))
    ).where(*mine)
    return latest, first_page, totals


async def _stored_reciprocity(
    session: AsyncSession,
    owner_id: uuid.UUID,
    as_of: datetime,
    after: tuple[float, uuid.UUID] | None,
    limit: int,
) -> tuple[Balance, _Ranked]:
    """From the sums kept on each contact (valid: nothing was resolved after `as_of`)."""
    _, first_page, totals = _reciprocity_statements()
    owner = {"owner_id": owner_id}
    if after is None:
        rows = await _rows(session, first_page, {**owner, "page_limit": limit + 1})
    else:
        c = Contact
        score = col(c.reciprocity_score)
        stmt = (
            select(col(c.id), col(c.reciprocity_given), col(c.reciprocity_received), score)
            .where(
                col(c.owner_id) == owner_id,
                col(c.deleted_at).is_(None),
                score.is_not(None),
                or_(score > after[0], and_(score == after[0], col(c.id) > after[1])),
            )
            .order_by(score, col(c.id))
            .limit(limit + 1)
        )
        rows = await _rows(session, stmt)
    given, received = (await _rows(session, totals, owner))[0]
    factor = balance.scale(as_of)
    network = Balance((given or 0.0) * factor, (received or 0.0) * factor)
    return network, [(r[0], Balance(r[1] * factor, r[2] * factor), r[3]) for r in rows]


async def _summed_reciprocity(
    session: AsyncSession,
    owner_id: uuid.UUID,
    as_of: datetime,
    after: tuple[float, uuid.UUID] | None,
    limit: int,
) -> tuple[Balance, _Ranked]:
    """By summing the fulfilled asks resolved by `as_of`: one GROUP BY in the database."""
    b = balances(session_dialect(session), _one_owner(owner_id), as_of).subquery()
    total = b.c.given + b.c.received
    ranked = select(
        b.c.contact_id,
        b.c.given,
        b.c.received,
        case((total > 0, (b.c.given - b.c.received) / total), else_=0.0).label("score"),
        # The network total rides along each row, summed before the page is cut.
        func.sum(b.c.given).over().label("network_given"),
        func.sum(b.c.received).over().label("network_received"),
    ).subquery()
    stmt = select(ranked)
    if after is not None:
        score, key = after
        stmt = stmt.where(
            or_(
                ranked.c.score > score,
                and_(ranked.c.score == score, ranked.c.contact_id > key),
            )
        )
    stmt = stmt.order_by(ranked.c.score, ranked.c.contact_id).limit(limit + 1)
    rows = await _rows(session, stmt)
    if rows:
        network = Balance(rows[0].network_given, rows[0].network_received)
    else:  # past the last page: the totals still answer
        totals = select(func.sum(b.c.given), func.sum(b.c.received))
        given, received = (await _rows(session, totals))[0]
        network = Balance(given or 0.0, received or 0.0)
    return network, [(r.contact_id, Balance(r.given, r.received), r.score) for r in rows]


async def contact_reciprocity(
    session: AsyncSession, owner_id: uuid.UUID, contact_id: uuid.UUID, as_of: datetime | None
) -> ContactReciprocity:
    contact = await contacts.get(session, owner_id, contact_id)  # 404: missing or foreign
    as_of = as_of or utcnow()
    found = balance.stored(contact, as_of)
    if found is None:  # help recorded after as_of: sum the asks as of then
        found = (await AskRepository(session, owner_id).balances({contact_id}, as_of))[contact_id]
    return ContactReciprocity(contact_id=contact_id, **BalancePublic.of(found).model_dump())


# ---------------------------------------------------------------------------------------------
# Rules 5 and 6


def _insert(dialect: str) -> Any:
    table = EtiquetteTask.__table__  # type: ignore[attr-defined]
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


_TASK_COLUMNS = [
    "id", "owner_id", "contact_id", "created_at", "updated_at", "version",
    "kind", "title", "due_at", "status", "source", "rule_key", "sync_seq",
]  # fmt: skip


def _title(text: str, name: Any) -> Any:
    return func.substr(literal(text, String) + name, 1, MAX_TITLE, type_=String)


async def apply_rules(session: AsyncSession, owners: Owners, as_of: datetime, now: datetime) -> int:
    """Rules 5 and 6 for the users `owners` selects, and rules 1–4 re-checked; returns the
    number of tasks created."""
    dialect = session_dialect(session)
    t = EtiquetteTask

    def stamps() -> tuple[Any, Any, Any]:
        # created_at, updated_at, version: distinct objects, or a SELECT may fold them.
        return at(now, "created_at"), at(now, "updated_at"), literal(1, Integer)

    # Rule 5: one reconnect task per (contact, due date), keyed so that it is made once, ever.
    # Lock first (in id order), then insert in a statement that sees what the lock waited for.
    await _rows(session, reconnect_candidates(dialect, owners, as_of))
    overdue = overdue_contacts(dialect, owners, as_of).subquery()
    key = reconnect_key(dialect, overdue.c.contact_id, overdue.c.due)
    reconnect = (
        select(
            new_uuid(dialect),
            overdue.c.owner_id,
            overdue.c.contact_id,
            *stamps(),
            literal(TaskKind.reconnect.value, String),
            _title("Reconnect with ", overdue.c.contact_name),
            overdue.c.due,
            literal(TaskStatus.pending.value, String),
            literal(TaskSource.rule.value, String),
            key,
            stamp(dialect),
        )
        # Contacts that already have their task are skipped here, which is much cheaper than
        # the conflict path; ON CONFLICT still settles races. (SQLite also needs this WHERE
        # before ON CONFLICT.) The order keeps concurrent runners from locking the same keys in
        # opposite orders.
        .where(
            ~select(col(t.id))
            .where(col(t.owner_id) == overdue.c.owner_id, col(t.rule_key) == key)
            .exists()
        )
        .order_by(overdue.c.owner_id, overdue.c.contact_id)
    )
    result = await session.exec(
        _insert(dialect).from_select(_TASK_COLUMNS, reconnect).on_conflict_do_nothing()
    )
    created: int = result.rowcount  # type: ignore[attr-defined]

    # A reconnect task the rule dismissed (the contact was snoozed) returns with its due date.
    keys = select(key).where(overdue.c.contact_id.is_not(None))
    await session.exec(
        update(t)
        .where(
            owners(col(t.owner_id)),
            col(t.kind) == TaskKind.reconnect.value,
            col(t.source) == TaskSource.rule.value,
            col(t.status) == TaskStatus.dismissed.value,
            col(t.closed_by) == "rule",
            col(t.deleted_at).is_(None),
            col(t.rule_key).in_(keys),
        )
        .values(
            status=TaskStatus.pending.value,
            closed_by=None,
            closed_at=None,
            updated_at=now,
            version=col(t.version) + 1,
            sync_seq=stamp(dialect),
        )
    )

    # Rule 6: taking → offer help; at most one pending per contact (a partial unique index),
    # and none within 30 days after the user closed the last one.
    # Lock the pending offer_help tasks first: a user closing one right now is then either
    # seen by the insert below (closed: wait 30 days) or closes it after this run commits.
    await _rows(
        session,
        select(col(t.id))
        .where(
            owners(col(t.owner_id)),
            col(t.kind) == TaskKind.offer_help.value,
            col(t.source) == TaskSource.rule.value,
            col(t.status) == TaskStatus.pending.value,
            col(t.deleted_at).is_(None),
        )
        .order_by(col(t.id))
        .with_for_update(key_share=True),
    )
    taker = taking_contacts(dialect, owners, as_of)
    c = Contact
    quiet_since = at(as_of - OFFER_HELP_QUIET, "quiet_since")
    recently_closed = (
        select(col(t.id))
        .where(
            col(t.contact_id) == taker.c.contact_id,
            col(t.kind) == TaskKind.offer_help.value,
            col(t.source) == TaskSource.rule.value,
            or_(
                and_(col(t.closed_by) == "user", col(t.closed_at) > quiet_since),
                col(t.deleted_at) > quiet_since,
            ),
        )
        .exists()
    )
    pending = (
        select(col(t.id))
        .where(
            col(t.contact_id) == taker.c.contact_id,
            col(t.kind) == const(TaskKind.offer_help.value),
            col(t.source) == const(TaskSource.rule.value),
            col(t.status) == const(TaskStatus.pending.value),
            col(t.deleted_at).is_(None),
        )
        .exists()
    )
    offer = (
        select(
            new_uuid(dialect),
            taker.c.owner_id,
            taker.c.contact_id,
            *stamps(),
            literal(TaskKind.offer_help.value, String),
            _title("Offer your help to ", col(c.full_name)),
            at(as_of + OFFER_HELP_DUE, "offer_due"),
            literal(TaskStatus.pending.value, String),
            literal(TaskSource.rule.value, String),
            null(),
            stamp(dialect),
        )
        .join(c, col(c.id) == taker.c.contact_id)
        # A pending task already there is skipped here (cheaper than the conflict path).
        .where(~recently_closed, ~pending)
        .order_by(taker.c.owner_id, taker.c.contact_id)
    )
    result = await session.exec(
        _insert(dialect).from_select(_TASK_COLUMNS, offer).on_conflict_do_nothing()
    )
    created += result.rowcount  # type: ignore[attr-defined]

    created += await rules.reconcile(session, owners, now - RECONCILE_WINDOW, now)
    return created


async def run_for_user(
    session: AsyncSession, owner_id: uuid.UUID, codec: CursorCodec, as_of: datetime | None
) -> UserRun:
    now = utcnow()
    as_of = as_of or now
    created = await apply_rules(session, _one_owner(owner_id), as_of, now)
    return UserRun(
        as_of=as_of,
        tasks_created=created,
        follow_ups=await follow_ups_page(
            session, owner_id, codec, as_of=as_of, limit=50, cursor=None
        ),
        reciprocity=await reciprocity_page(
            session, owner_id, codec, as_of=as_of, limit=50, cursor=None
        ),
    )


# ---------------------------------------------------------------------------------------------
# All users


@dataclass(frozen=True)
class AllUsersPolicy:
    batch_size: int
    # A user handled by any runner this recently before `as_of` is left alone, so that
    # overlapping runners split the users instead of each doing all of them.
    min_interval: timedelta
    # Tombstones older than this (plus a grace) leave the sync feed for good.
    tombstone_retention: timedelta
    # Idempotency keys older than this no longer replay and are deleted (None: kept).
    idempotency_ttl: timedelta | None = None


async def run_for_all(db: Database, as_of: datetime | None, policy: AllUsersPolicy) -> AllUsersRun:
    """Claim users a batch at a time (SKIP LOCKED on PostgreSQL), apply the rules, record the
    run on each user, commit; repeat until no user is left to claim."""
    now = utcnow()
    as_of = as_of or now
    claim_before = at(as_of - policy.min_interval, "claim_before")
    batches: list[BatchRun] = []
    while True:
        async with db.write_sessions() as session, session.begin():
            claim = (
                select(col(User.id))
                .where(or_(col(User.scheduled_at).is_(None), col(User.scheduled_at) < claim_before))
                .order_by(col(User.id))
                .limit(policy.batch_size)
                .with_for_update(skip_locked=True, key_share=True)
            )
            ids = [row.id for row in await _rows(session, claim)]
            if not ids:
                break

            def owners(column: Any, ids: list[uuid.UUID] = ids) -> Any:
                return column.in_(ids)

            created = await apply_rules(session, owners, as_of, now)
            dialect = session_dialect(session)
            items = follow_up_items(dialect, owners, as_of)
            follow_ups = (await _rows(session, select(func.count()).select_from(items)))[0][0]
            counted = select(func.count()).select_from(taking_contacts(dialect, owners, as_of))
            taking_count = (await _rows(session, counted))[0][0]
            await session.exec(update(User).where(col(User.id).in_(ids)).values(scheduled_at=as_of))
            batches.append(
                BatchRun(
                    users=len(ids),
                    tasks_created=created,
                    follow_ups=follow_ups,
                    reciprocity=taking_count,
                )
            )
    async with db.write_sessions() as session, session.begin():
        purged = await purge_tombstones(session, policy.tombstone_retention)
        if policy.idempotency_ttl is not None:
            await purge_expired_keys(session, policy.idempotency_ttl)
    return AllUsersRun(
        as_of=as_of,
        tombstones_purged=purged,
        users=sum(b.users for b in batches),
        tasks_created=sum(b.tasks_created for b in batches),
        follow_ups=sum(b.follow_ups for b in batches),
        reciprocity=sum(b.reciprocity for b in batches),
        batches=batches,
    )
