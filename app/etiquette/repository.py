"""Etiquette task queries."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from app.core.repository import OwnedRepository
from app.etiquette.models import EtiquetteTask


class TaskRepository(OwnedRepository[EtiquetteTask]):
    model = EtiquetteTask

    def conditions(
        self,
        *,
        contact_id: uuid.UUID | None = None,
        status: str | None = None,
        kind: str | None = None,
        due_before: datetime | None = None,
    ) -> list[ColumnElement[bool]]:
        t = EtiquetteTask
        out: list[ColumnElement[bool]] = []
        if contact_id:
            out.append(col(t.contact_id) == contact_id)
        if status:
            out.append(col(t.status) == status)
        if kind:
            out.append(col(t.kind) == kind)
        if due_before:
            out.append(col(t.due_at) < due_before)
        return out
