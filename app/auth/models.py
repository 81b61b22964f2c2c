"""Users, refresh-token families and login failures."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, EmailStr, StringConstraints
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow
from app.core.models import RecordPublic, schema_config
from app.core.types import Text


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def _valid_zone(value: str) -> str:
    if value not in _zones():
        raise ValueError("must be an IANA time zone name such as `Europe/Paris`")
    return value


def _lower(value: str) -> str:
    return value.lower()


Email = Annotated[EmailStr, StringConstraints(max_length=320), AfterValidator(_lower)]
TimeZone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_valid_zone)]
Password = Annotated[
    str,
    StringConstraints(min_length=8, max_length=256),
    Field(description="8 to 256 characters. Never returned, never logged."),
]
DisplayName = Text(100)


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        Index("ix_users_scheduled_at", "scheduled_at"),
        Index("ix_users_calendar_token_hash", "calendar_token_hash", unique=True),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    password_hash: str = Field(max_length=255)
    display_name: str | None = Field(default=None, max_length=100)
    timezone: str = Field(default="UTC", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    version: int = Field(default=1, nullable=False)
    # The `as_of` of the last scheduler pass over this user (all-users runs claim by it).
    scheduled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # SHA-256 of the calendar feed's secret (the feed URL holds the secret itself); null: no
    # feed. Only the hash is kept, so a leaked database does not open anyone's calendar.
    calendar_token_hash: str | None = Field(default=None, max_length=64)


class UserRegister(SQLModel):
    model_config = schema_config(
        {
            "email": "ada@example.com",
            "password": "correct horse battery staple",
            "display_name": "Ada",
            "timezone": "Europe/London",
        },
        input=True,
    )

    email: Email
    password: Password
    display_name: DisplayName | None = None
    timezone: TimeZone = "UTC"


class UserUpdate(SQLModel):
    model_config = schema_config({"display_name": "Ada L.", "timezone": "Europe/Paris"}, input=True)

    email: Email | None = None
    display_name: DisplayName | None = None
    timezone: TimeZone | None = None


class UserPublic(RecordPublic):
    model_config = schema_config(
        {
            "id": "6f1c1f43-3a63-4d1c-9a4e-3f5c7d2b8a10",
            "email": "ada@example.com",
            "display_name": "Ada",
            "timezone": "Europe/London",
            "created_at": "2026-01-05T09:30:00Z",
            "updated_at": "2026-01-05T09:30:00Z",
            "version": 1,
        }
    )

    email: str
    display_name: str | None
    timezone: str


class RefreshToken(SQLModel, table=True):
    """One refresh token; tokens rotated from one login share a `family_id`."""

    __tablename__ = "refresh_tokens"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    family_id: uuid.UUID = Field(index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginFailure(SQLModel, table=True):
    """A failed login, counted per account and per client address for throttling."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_subject", "kind", "subject", "failed_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: str = Field(max_length=16)
    subject: str = Field(max_length=320)
    failed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class TokenPair(SQLModel):
    model_config = schema_config(
        {
            "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…",
            "refresh_token": "q3v9Yd0m7b…",
            "token_type": "bearer",
            "expires_in": 900,
        }
    )

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")


class LoginForm(SQLModel):
    """The OAuth2 password grant form (RFC 6749 §4.3)."""

    # Not `input=True`: OAuth2 clients may send fields of their own (client_id), ignored.
    model_config = schema_config(
        {"grant_type": "password", "username": "ada@example.com", "password": "correct horse"}
    )

    grant_type: Literal["password"] | None = None
    username: Text(320, min_length=1) = Field(description="The account's email.")
    password: str = Field(min_length=1, max_length=256)
    scope: str = Field(default="", max_length=1000)


class RefreshRequest(SQLModel):
    model_config = schema_config({"refresh_token": "q3v9Yd0m7b…"}, input=True)

    refresh_token: str = Field(min_length=1, max_length=512)
