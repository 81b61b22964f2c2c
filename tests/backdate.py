"""Moving server-set times into the past, as if records had been written back then."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import SQLModel

from app.asks import balance
from app.asks.models import Ask
from app.contacts.models import Contact


async def set_columns(app: FastAPI, table: str, record_id: str, **values: Any) -> None:
    """Change server-owned columns directly (times the API sets to "now").

    An ask's `resolved_at` also feeds the reciprocity its contact keeps (app/asks/balance.py),
    so that is brought up to date, as the ask write would have done.
    """
    t = SQLModel.metadata.tables[table]
    async with app.state.runtime.db.write_sessions() as session:
        await session.exec(update(t).where(t.c.id == uuid.UUID(record_id)).values(**values))
        if table == "asks":
            ask = await session.get(Ask, uuid.UUID(record_id))
            assert ask is not None
            contact = await session.get(Contact, ask.contact_id)
            assert contact is not None
            await balance.refresh(session, contact)
        await session.commit()
