"""HTTP for the sync feed."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from app.core.deps import Cursor, Rt, Session, UserId
from app.core.errors import problem_responses
from app.core.http import json_response
from app.core.routing import RapportRoute
from app.sync import service
from app.sync.models import DEFAULT_SYNC_LIMIT, MAX_SYNC_LIMIT, SyncPage

router = APIRouter(prefix="/v1/sync", tags=["sync"], route_class=RapportRoute)


@router.get(
    "",
    name="changes",
    response_model=SyncPage,
    summary="Changes since a cursor, for offline copies",
    description=(
        "Without a cursor: every live contact, interaction, ask and etiquette task. With the "
        "`cursor` of the previous answer: what was created, changed or deleted since, per "
        "resource. While `has_more` is true, call again at once with the new `cursor`; then "
        "keep the last cursor for the next sync. Apply pages in order; a record may come "
        "again (store by `id`). Cursors come from the server clock, never the client's. A "
        "cursor older than the tombstone retention (30 days by default) answers 410: discard "
        "the local copy and sync again without a cursor."
    ),
    responses=problem_responses(400, 401, 410, 422),
)
async def sync_changes(
    session: Session,
    user_id: UserId,
    rt: Rt,
    cursor: Cursor = None,
    limit: Annotated[
        int,
        Query(
            ge=1, le=MAX_SYNC_LIMIT, description="Most records (upserted and deleted) a page holds."
        ),
    ] = DEFAULT_SYNC_LIMIT,
) -> Response:
    page = await service.changes(
        session,
        user_id,
        rt.sync_cursors,
        cursor=cursor,
        limit=limit,
        retention=timedelta(days=rt.settings.sync_retention_days),
    )
    return json_response(page, headers={"Cache-Control": "no-store"})
