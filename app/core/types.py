"""Pydantic field types shared by every domain's schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    PlainSerializer,
    StringConstraints,
)


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and no legitimate client sends one.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _rfc3339_only(value: object) -> object:
    # Numbers would otherwise be read as Unix timestamps; the contract is RFC 3339 strings.
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("must be an RFC 3339 date-time string with an offset")
    return value


# A career network lives within a lifetime or two. The bounds keep every date the rules derive
# (a due date 48 h later, a follow-up years later) representable, and refuse absurd input.
MIN_YEAR, MAX_YEAR = 1900, 2999


def _to_utc(value: datetime) -> datetime:
    # Convert first, then check: the limit applies to the UTC time that is stored and served
    # (1900-01-01T00:30+01:00 is 1899 in UTC), and an offset may push a time past year 9999.
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range once converted to UTC") from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"year must be between {MIN_YEAR} and {MAX_YEAR}")
    return value


def _format_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def Text(max_length: int, min_length: int = 0) -> type[str]:
    """A string with limits, stripped of surrounding white space, never holding NUL."""
    return Annotated[  # type: ignore[return-value]
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(_no_nul),
    ]


# RFC 3339 with an offset in, UTC with `Z` out. A time without an offset is a 422.
UTCDatetime = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339_only),
    AfterValidator(_to_utc),
    PlainSerializer(_format_utc, return_type=str, when_used="json"),
]
