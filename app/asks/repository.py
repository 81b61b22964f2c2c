"""Ask queries, including what the etiquette warnings need for a batch of asks."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func
from sqlalchemy import select as sa_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from app.asks.models import Ask, AskStatus, Direction
from app.asks.reciprocity import HALF_LIFE_DAYS, KIND_WEIGHTS, STANCE_THRESHOLD, Balance
from app.core.repository import OwnedRepository
from app.core.sql import Owners, at, days_between, power


class AskRepository(OwnedRepository[Ask]):
    model = Ask

    def conditions(
        self,
        *,
        contact_id: uuid.UUID | None = None,
        direction: str | None = None,
        status: str | None = None,
        kind: str | None = None,
    ) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if contact_id:
            out.append(col(Ask.contact_id) == contact_id)
        if direction:
            out.append(col(Ask.direction) == direction)
        if status:
            out.append(col(Ask.status) == status)
        if kind:
            out.append(col(Ask.kind) == kind)
        return out

    async def open_outgoing(self, contact_ids: set[uuid.UUID]) -> dict[uuid.UUID, set[uuid.UUID]]:
        """Ids of the open outgoing asks to each contact."""
        stmt = select(col(Ask.contact_id), col(Ask.id)).where(
            col(Ask.owner_id) == self.owner_id,
            col(Ask.deleted_at).is_(None),
            col(Ask.contact_id).in_(contact_ids),
            col(Ask.direction) == Direction.outgoing.value,
            col(Ask.status) == AskStatus.open.value,
        )
        out: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
        for contact_id, ask_id in (await self.session.exec(stmt)).all():
            out[contact_id].add(ask_id)
        return out

    async def balances(
        self, contact_ids: set[uuid.UUID], as_of: datetime
    ) -> dict[uuid.UUID, Balance]:
        """Reciprocity with each of a few contacts, as of `as_of`."""
        stmt = balances(self.dialect, lambda owner: owner == self.owner_id, as_of, contact_ids)
        rows = (await self.session.exec(stmt)).all()  # type: ignore[call-overload]
        found = {row.contact_id: Balance(row.given, row.received) for row in rows}
        return {c: found.get(c, Balance(0.0, 0.0)) for c in contact_ids}


def decayed_weight(dialect: str, as_of: datetime) -> ColumnElement[float]:
    """An ask's weight (its effort, else its kind's) × 0.5 ** (age in days / 365)."""
    by_kind = case(KIND_WEIGHTS, value=col(Ask.kind), else_=1)
    weight = func.coalesce(col(Ask.effort), by_kind)
    age = days_between(at(as_of, "as_of"), col(Ask.resolved_at), dialect)
    decayed: Any = weight * power(0.5, age / HALF_LIFE_DAYS, dialect)
    return decayed


def balances(dialect: str, owners: Owners, as_of: datetime, contact_ids: Any = None) -> Select[Any]:
    """(owner_id, contact_id, given, received) of each contact with a fulfilled ask ≤ as_of:
    one GROUP BY in the database, whatever the number of asks. `contact_ids`: a set of ids or
    a subquery selecting them, to sum only those contacts' asks."""
    amount = decayed_weight(dialect, as_of)
    incoming = col(Ask.direction) == Direction.incoming.value
    stmt: Any = (
        sa_select(
            col(Ask.owner_id).label("owner_id"),
            col(Ask.contact_id).label("contact_id"),
            func.sum(case((incoming, amount), else_=0.0)).label("given"),
            func.sum(case((incoming, 0.0), else_=amount)).label("received"),
        )
        .where(
            owners(col(Ask.owner_id)),
            col(Ask.deleted_at).is_(None),
            col(Ask.status) == AskStatus.fulfilled.value,
            col(Ask.resolved_at) <= at(as_of, "as_of"),
        )
        .group_by(col(Ask.owner_id), col(Ask.contact_id))
    )
    if contact_ids is not None:
        stmt = stmt.where(col(Ask.contact_id).in_(contact_ids))
    return stmt


def taking(given: Any, received: Any) -> ColumnElement[bool]:
    """Stance `taking`, as SQL: (given − received) / (given + received) < −0.2."""
    return and_(received > 0, (given - received) < -STANCE_THRESHOLD * (given + received))
