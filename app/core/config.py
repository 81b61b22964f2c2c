"""Settings, read only from `RAPPORT_*` environment variables and validated at start."""

from __future__ import annotations

import secrets
from functools import cached_property

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./rapport.db"
# Values that must never sign tokens in production (placeholders people paste from docs).
_WEAK_SECRETS = {"", "changeme", "change-me", "secret", "dev", "development", "rapport"}


def dialect_of(url: str) -> str:
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    return "postgresql" if scheme in {"postgres", "postgresql"} else scheme


def async_url(url: str) -> str:
    """The URL with the async driver the app uses (asyncpg, aiosqlite)."""
    rest = url.split(":", 1)[1]
    if dialect_of(url) == "postgresql":
        return "postgresql+asyncpg:" + rest
    return "sqlite+aiosqlite:" + rest


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAPPORT_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    secret_key: SecretStr | None = None
    service_token: SecretStr | None = None

    access_token_ttl_seconds: int = Field(900, ge=60, le=900)
    refresh_token_ttl_seconds: int = Field(30 * 24 * 3600, ge=3600)

    login_window_seconds: int = Field(15 * 60, ge=1)
    login_max_failures_per_account: int = Field(10, ge=1)
    login_max_failures_per_address: int = Field(100, ge=1)

    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    # POST /v1/contacts/import: a phone or mail export is bigger than any JSON body.
    import_max_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    import_max_records: int = Field(20_000, ge=1)
    idempotency_ttl_seconds: int = Field(24 * 3600, ge=60)
    # A reservation older than this is taken to be from a crashed request and may be reused.
    idempotency_lock_seconds: int = Field(60, ge=1)
    # Events in one calendar feed (the earliest due first): bounds its size and its queries.
    calendar_max_events: int = Field(500, ge=1, le=5000)

    db_pool_size: int = Field(10, ge=1)
    db_max_overflow: int = Field(10, ge=0)
    db_pool_timeout_seconds: float = Field(10.0, gt=0)
    db_statement_timeout_ms: int = Field(15_000, ge=0)
    sqlite_busy_timeout_ms: int = Field(15_000, ge=0)

    # All-users scheduler runs: users per transaction, and how recently another runner must
    # have handled a user for this one to leave it alone.
    scheduler_batch_size: int = Field(100, ge=1, le=10_000)
    scheduler_min_interval_seconds: int = Field(300, ge=0)

    # Deleted records stay as tombstones this long for the sync feed; a sync cursor older than
    # this is refused (410) and the client starts again from scratch.
    sync_retention_days: int = Field(30, ge=1, le=3650)

    log_level: str = "INFO"

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.dialect not in {"sqlite", "postgresql"}:
            raise ValueError(
                "RAPPORT_DATABASE_URL must be a sqlite:/// or postgresql:// URL, "
                f"got scheme {self.database_url.split(':', 1)[0]!r}"
            )
        key = self.secret_key.get_secret_value() if self.secret_key else None
        weak = key is None or key.strip().lower() in _WEAK_SECRETS or len(key) < 32
        if self.dialect == "postgresql" and weak:
            raise ValueError(
                "RAPPORT_SECRET_KEY must be set to a random value of at least 32 characters "
                "when RAPPORT_DATABASE_URL points at PostgreSQL (production)"
            )
        return self

    @property
    def dialect(self) -> str:
        return dialect_of(self.database_url)

    @property
    def async_database_url(self) -> str:
        return async_url(self.database_url)

    @cached_property
    def signing_key(self) -> str:
        """RAPPORT_SECRET_KEY, or a random key for this process (the app warns at start)."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return secrets.token_urlsafe(48)
