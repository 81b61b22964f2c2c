"""Pydantic field types shared by every domain's schemas."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    PlainSerializer,
    StringConstraints,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
)


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and no legitimate client sends one.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# The start every RFC 3339 date-time has (a space may stand for `T`, as RFC 3339 allows).
_RFC3339_START = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]")


def _rfc3339_only(value: object) -> object:
    # Numbers, and strings of digits (every query parameter is a string), would otherwise be
    # read as Unix timestamps; the contract is RFC 3339 strings.
    if (isinstance(value, int | float) and not isinstance(value, bool)) or (
        isinstance(value, str) and not _RFC3339_START.match(value)
    ):
        raise ValueError("must be an RFC 3339 date-time string with an offset")
    return value


# A career network lives within a lifetime or two: times a client sends must fall in these
# years, which refuses absurd input. Times the server derives (a due date 48 h or a cadence
# later) may go past them and are still served: the bound applies to input only.
MIN_YEAR, MAX_YEAR = 1900, 2999


def _to_utc(value: object, handler: ValidatorFunctionWrapHandler) -> datetime:
    parsed: datetime = handler(value)
    # Convert first, then check: the limit applies to the UTC time that is stored and served
    # (1900-01-01T00:30+01:00 is 1899 in UTC), and an offset may push a time past year 9999.
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range once converted to UTC") from None
    # Client input arrives as text (JSON, query strings); a datetime object is the server's own.
    if isinstance(value, str) and not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValueError(f"year must be between {MIN_YEAR} and {MAX_YEAR}")
    return parsed


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
    WrapValidator(_to_utc),
    PlainSerializer(_format_utc, return_type=str, when_used="json"),
    # The serializer's `str` would otherwise drop `format: date-time` from response schemas,
    # and generated clients would hand callers strings instead of times.
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]
