"""Etiquette tasks by hand, and closing or reopening any task."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.contacts import service as contacts
from app.core.db import utcnow
from app.core.etags import IfMatch
from app.core.pagination import CursorCodec
from app.core.records import Records
from app.etiquette.models import (
    TASK_REQUIRED,
    EtiquetteTask,
    TaskCreate,
    TaskPublic,
    TaskSource,
    TaskStatus,
    TaskUpdate,
)
from app.etiquette.repository import TaskRepository

# The columns a read-only row carries for a response: what `TaskPublic` shows.
_SHOWN = tuple(TaskPublic.model_fields)


def _records(session: AsyncSession, owner_id: uuid.UUID) -> Records[EtiquetteTask]:
    return Records(TaskRepository(session, owner_id), "No etiquette task with this id.")


async def create(session: AsyncSession, owner_id: uuid.UUID, data: TaskCreate) -> EtiquetteTask:
    await contacts.require(session, owner_id, data.contact_id)
    task = TaskRepository(session, owner_id).add(
        EtiquetteTask(**data.model_dump(), source=TaskSource.manual.value)
    )
    await session.flush()
    return task


async def read(session: AsyncSession, owner_id: uuid.UUID, task_id: uuid.UUID) -> Any:
    """The task as a read-only row (attributes as on `EtiquetteTask`), for a response."""
    return await _records(session, owner_id).read(task_id, _SHOWN)


async def list_page(
    session: AsyncSession,
    owner_id: uuid.UUID,
    codec: CursorCodec,
    *,
    limit: int,
    cursor: str | None,
    **filters: Any,
) -> tuple[list[EtiquetteTask], str | None]:
    return await _records(session, owner_id).list(filters, cursor=cursor, limit=limit, codec=codec)


async def update(
    session: AsyncSession,
    owner_id: uuid.UUID,
    task_id: uuid.UUID,
    patch: TaskUpdate,
    if_match: IfMatch,
) -> EtiquetteTask:
    records = _records(session, owner_id)
    task = await records.for_write(task_id, if_match)
    changes = patch.model_dump(exclude_unset=True)
    new_status = changes.get("status")
    now = utcnow()
    if new_status is not None and new_status != task.status:
        # Closed by the user: the rules never reopen or re-create it.
        reopened = new_status == TaskStatus.pending
        changes["closed_by"] = None if reopened else "user"
        changes["closed_at"] = None if reopened else now
        changes["completed_at"] = now if new_status == TaskStatus.done else None
    elif new_status == TaskStatus.dismissed and task.closed_by != "user":
        # The user dismisses a task the rule had already dismissed: now the user closed it,
        # so the rule never reopens it either.
        changes["closed_by"] = "user"
        changes["closed_at"] = now
    await records.merge(task, changes, required=TASK_REQUIRED, now=now)
    return task


async def delete(
    session: AsyncSession, owner_id: uuid.UUID, task_id: uuid.UUID, if_match: IfMatch
) -> None:
    await _records(session, owner_id).delete(task_id, if_match)
