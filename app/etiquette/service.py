"""Etiquette tasks by hand, and closing or reopening any task."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from app.contacts import service as contacts
from app.core.db import utcnow
from app.core.errors import NotFound
from app.core.etags import IfMatch
from app.core.pagination import CursorCodec
from app.core.patch import apply_merge_patch
from app.etiquette.models import (
    TASK_REQUIRED,
    EtiquetteTask,
    TaskCreate,
    TaskSource,
    TaskStatus,
    TaskUpdate,
)
from app.etiquette.repository import TaskRepository


def _missing() -> NotFound:
    return NotFound("No etiquette task with this id.")


async def create(session: AsyncSession, owner_id: uuid.UUID, data: TaskCreate) -> EtiquetteTask:
    await contacts.require(session, owner_id, data.contact_id)
    repo = TaskRepository(session, owner_id)
    task = repo.add(
        EtiquetteTask(**data.model_dump(), owner_id=owner_id, source=TaskSource.manual.value)
    )
    await session.flush()
    return task


async def get(session: AsyncSession, owner_id: uuid.UUID, task_id: uuid.UUID) -> EtiquetteTask:
    task = await TaskRepository(session, owner_id).get(task_id)
    if task is None:
        raise _missing()
    return task


async def list_page(
    session: AsyncSession,
    owner_id: uuid.UUID,
    codec: CursorCodec,
    *,
    limit: int,
    cursor: str | None,
    contact_id: uuid.UUID | None,
    status: str | None,
    kind: str | None,
    due_before: datetime | None,
) -> tuple[list[EtiquetteTask], str | None]:
    repo = TaskRepository(session, owner_id)
    conditions = repo.conditions(
        contact_id=contact_id, status=status, kind=kind, due_before=due_before
    )
    filters = {"contact_id": contact_id, "status": status, "kind": kind, "due_before": due_before}
    return await repo.page(conditions, filters=filters, cursor=cursor, limit=limit, codec=codec)


async def update(
    session: AsyncSession, owner_id: uuid.UUID, task_id: uuid.UUID, patch: TaskUpdate,
    if_match: IfMatch,
) -> EtiquetteTask:  # fmt: skip
    repo = TaskRepository(session, owner_id)
    task = await repo.get(task_id, lock=True)
    if task is None:
        raise _missing()
    if_match.check(task.version)
    before = task.status
    if not apply_merge_patch(task, patch.model_dump(exclude_unset=True), required=TASK_REQUIRED):
        return task
    now = utcnow()
    if task.status != before:
        # Closed by the user: the rules never reopen or re-create it.
        task.closed_by = None if task.status == TaskStatus.pending else "user"
        task.completed_at = now if task.status == TaskStatus.done else None
    repo.touch(task, now)
    await session.flush()
    return task


async def delete(
    session: AsyncSession, owner_id: uuid.UUID, task_id: uuid.UUID, if_match: IfMatch
) -> None:
    repo = TaskRepository(session, owner_id)
    task = await repo.get(task_id, lock=True)
    if task is None:
        raise _missing()
    if_match.check(task.version)
    repo.tombstone(task)
    await session.flush()
