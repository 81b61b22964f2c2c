"""Interaction queries."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from app.core.repository import OwnedRepository
from app.interactions.models import Interaction


class InteractionRepository(OwnedRepository[Interaction]):
    model = Interaction

    def conditions(
        self,
        *,
        contact_id: uuid.UUID | None = None,
        channel: str | None = None,
        status: str | None = None,
        occurred_after: datetime | None = None,
        occurred_before: datetime | None = None,
    ) -> list[ColumnElement[bool]]:
        i = Interaction
        out: list[ColumnElement[bool]] = []
        if contact_id:
            out.append(col(i.contact_id) == contact_id)
        if channel:
            out.append(col(i.channel) == channel)
        if status:
            out.append(col(i.status) == status)
        if occurred_after:
            out.append(col(i.occurred_at) >= occurred_after)
        if occurred_before:
            out.append(col(i.occurred_at) < occurred_before)
        return out
