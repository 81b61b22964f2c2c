"""Settings, read only from `RAPPORT_*` environment variables and validated at start."""

from __future__ import annotations

import ipaddress
import json
import secrets
from functools import cached_property
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./rapport.db"
# Values that must never sign tokens in production (placeholders people paste from docs).
_WEAK_SECRETS = {"", "changeme", "change-me", "secret", "dev", "development", "rapport"}


def dialect_of(url: str) -> str:
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    return "postgresql" if scheme in {"postgres", "postgresql"} else scheme


def async_url(url: str) -> str:
    """The URL with the async dialect the app uses: asyncpg, or aiosqlite's (whose connections
    app/core/sqlite_inline.py makes)."""
    rest = url.split(":", 1)[1]
    if dialect_of(url) == "postgresql":
        return "postgresql+asyncpg:" + rest
    return "sqlite+aiosqlite:" + rest


_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
# Never echoed in an error message: they hold secrets (a URL may hold a password).
_SECRET_FIELDS = {"database_url", "secret_key", "service_token"}


def _string_list(value: Any) -> list[str]:
    """A list from a JSON array or a comma-separated string (how operators write them)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"is not a valid JSON list: {exc.msg}") from None
        else:
            value = text.split(",")
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError("must be a comma-separated list or a JSON list of strings")
    return [v.strip() for v in value if v.strip()]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAPPORT_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    secret_key: SecretStr | None = None
    service_token: SecretStr | None = None

    access_token_ttl_seconds: int = Field(900, ge=60, le=900)
    # At most a year: a stolen refresh token must not be good for ever.
    refresh_token_ttl_seconds: int = Field(30 * 24 * 3600, ge=3600, le=365 * 24 * 3600)

    login_window_seconds: int = Field(15 * 60, ge=1, le=24 * 3600)
    login_max_failures_per_account: int = Field(10, ge=1, le=1000)
    login_max_failures_per_address: int = Field(100, ge=1, le=100_000)

    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    # POST /v1/contacts/import: a phone or mail export is bigger than any JSON body.
    import_max_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    import_max_records: int = Field(20_000, ge=1)
    idempotency_ttl_seconds: int = Field(24 * 3600, ge=60)
    # A reservation older than this is taken to be from a crashed request and may be reused.
    idempotency_lock_seconds: int = Field(60, ge=1)
    # Events in one calendar feed (the earliest due first): bounds its size and its queries.
    calendar_max_events: int = Field(500, ge=1, le=5000)

    # Per worker process: PostgreSQL's max_connections must cover workers × replicas × both.
    # All kept open by default: a connection opened beyond the pool for a burst is closed
    # when returned to a full pool, and under steady load that churn (connect, authenticate,
    # set up the session) cost a third of a contact read's throughput (docs/benchmarks.md).
    db_pool_size: int = Field(20, ge=1, le=1000)
    db_max_overflow: int = Field(0, ge=0, le=1000)
    db_pool_timeout_seconds: float = Field(10.0, gt=0, le=300)
    db_statement_timeout_ms: int = Field(15_000, ge=0, le=3_600_000)
    sqlite_busy_timeout_ms: int = Field(15_000, ge=0, le=3_600_000)

    # All-users scheduler runs: users per transaction, and how recently another runner must
    # have handled a user for this one to leave it alone.
    scheduler_batch_size: int = Field(100, ge=1, le=10_000)
    scheduler_min_interval_seconds: int = Field(300, ge=0)

    # Deleted records stay as tombstones this long for the sync feed; a sync cursor older than
    # this is refused (410) and the client starts again from scratch.
    sync_retention_days: int = Field(30, ge=1, le=3650)

    log_level: str = "INFO"
    # uvicorn's own access log (a text line per request): off, Rapport writes a JSON line per
    # request instead.
    uvicorn_access_log: bool = False

    # Browser origins allowed to call the API (`https://app.example.com`); none: no CORS
    # headers at all. Comma-separated or a JSON list; `*` allows any origin.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Addresses (IPs or CIDR networks) whose X-Forwarded-For/-Proto are believed; `*` trusts
    # every peer (only when nothing but the proxy can reach the app).
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["127.0.0.1"])

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in _LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(_LOG_LEVELS)}")
        return level

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _cors_origins(cls, value: Any) -> list[str]:
        origins = [o.rstrip("/") for o in _string_list(value)]
        for origin in origins:
            if origin == "*":
                continue
            parts = urlsplit(origin)
            if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path:
                raise ValueError(
                    f"{origin!r} is not an origin: give scheme://host[:port] "
                    "(e.g. https://app.example.com), or *"
                )
        return origins

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _trusted_proxies(cls, value: Any) -> list[str]:
        hosts = _string_list(value)
        if "*" in hosts and len(hosts) > 1:
            # uvicorn trusts everyone only for a lone `*`; beside addresses it would match nothing.
            raise ValueError("`*` trusts every peer: give it alone, or list addresses only")
        for host in hosts:
            if host == "*":
                continue
            try:
                if "/" in host:
                    ipaddress.ip_network(host, strict=False)
                else:
                    ipaddress.ip_address(host)
            except ValueError:
                raise ValueError(
                    f"{host!r} is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/8), or *"
                ) from None
        return hosts

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


class InvalidSettings(Exception):
    """The environment holds settings Rapport cannot start with; the message names them."""


def describe(error: ValidationError) -> str:
    """One line naming each wrong variable, what is wrong, and (unless secret) the value."""
    problems = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        message = str(item["msg"]).removeprefix("Value error, ")
        if not field:  # a check across settings: its message names the variables itself
            problems.append(message)
            continue
        shown = ""
        if field not in _SECRET_FIELDS and isinstance(item.get("input"), str | int | float):
            shown = f" (got {str(item['input'])[:60]!r})"
        problems.append(f"RAPPORT_{field.upper()}: {message}{shown}")
    return "; ".join(problems)


def load_settings() -> Settings:
    """Settings from the environment, or `InvalidSettings` with a message an operator reads."""
    try:
        return Settings()
    except ValidationError as exc:
        raise InvalidSettings(f"Rapport cannot start: {describe(exc)}") from None
