"""Ask queries, including what the etiquette warnings need for a batch of asks."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime

from sqlalchemy import select as sa_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from app.asks.models import Ask, AskStatus, Direction
from app.asks.reciprocity import Balance, decayed
from app.core.repository import OwnedRepository


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
        """Reciprocity with each of a few contacts, from their fulfilled asks."""
        # SQLAlchemy's select: SQLModel's is typed for at most four columns.
        stmt = sa_select(
            col(Ask.contact_id),
            col(Ask.direction),
            col(Ask.kind),
            col(Ask.effort),
            col(Ask.resolved_at),
        ).where(
            col(Ask.owner_id) == self.owner_id,
            col(Ask.deleted_at).is_(None),
            col(Ask.contact_id).in_(contact_ids),
            col(Ask.status) == AskStatus.fulfilled.value,
            col(Ask.resolved_at) <= as_of,
        )
        given: dict[uuid.UUID, float] = defaultdict(float)
        received: dict[uuid.UUID, float] = defaultdict(float)
        rows = (await self.session.exec(stmt)).all()  # type: ignore[call-overload]
        for contact_id, direction, kind, effort, resolved_at in rows:
            amount = decayed(kind, effort, resolved_at, as_of)
            if direction == Direction.incoming.value:
                given[contact_id] += amount
            else:
                received[contact_id] += amount
        return {c: Balance(given[c], received[c]) for c in contact_ids}
