"""What the calendar-token endpoint returns."""

from __future__ import annotations

from pydantic import Field
from sqlmodel import SQLModel

from app.core.models import schema_config


class CalendarToken(SQLModel):
    model_config = schema_config(
        {
            "token": "m3Hq0yJ3bV6kS1rW9tX2uZ5aC8dF4gH7jK0lN3pQ6sT",
            "url": "https://api.example.com/v1/calendar/"
            "m3Hq0yJ3bV6kS1rW9tX2uZ5aC8dF4gH7jK0lN3pQ6sT.ics",
        }
    )

    token: str = Field(
        description="The feed's secret. Shown once: only its hash is stored. Anyone who has "
        "it can read the feed, so treat it like a password."
    )
    url: str = Field(
        description="The absolute address of the feed, to subscribe to in a calendar app "
        "(replace `https:` by `webcal:` for a one-tap subscribe link)."
    )
