"""Contact queries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from app.contacts.models import Contact
from app.core.db import json_array_any_ilike, json_array_contains, like_pattern
from app.core.repository import OwnedRepository


class ContactRepository(OwnedRepository[Contact]):
    model = Contact

    def conditions(
        self,
        *,
        q: str | None = None,
        circle: str | None = None,
        tag: str | None = None,
        updated_since: datetime | None = None,
    ) -> list[ColumnElement[bool]]:
        c = Contact
        out: list[ColumnElement[bool]] = []
        if q:
            pattern = like_pattern(q)
            out.append(
                or_(
                    col(c.full_name).ilike(pattern, escape="\\"),
                    col(c.organization).ilike(pattern, escape="\\"),
                    col(c.email).ilike(pattern, escape="\\"),
                    json_array_any_ilike(c.tags, pattern, self.dialect),
                )
            )
        if circle:
            out.append(col(c.circle) == circle)
        if tag:
            out.append(json_array_contains(c.tags, tag, self.dialect))
        if updated_since:
            out.append(col(c.updated_at) >= updated_since)
        return out
