"""SQL expressions that differ between SQLite and PostgreSQL, for the set-based rule queries.

Times: PostgreSQL has `timestamptz`; SQLite stores the text `YYYY-MM-DD HH:MM:SS.ffffff`
(naive UTC, see `UTCDateTime`), so arithmetic there is done on that text and gives text of the
same shape back, which keeps comparisons exact. Ids: PostgreSQL has `uuid`; SQLite stores 32
hex digits. Text built from either matches what Python writes (`f"rule1:{uuid}"`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Float,
    String,
    bindparam,
    cast,
    extract,
    func,
    literal,
    literal_column,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement

from app.core.db import UTCDateTime

# A condition on an owner_id column: `owner_id == me`, or `owner_id IN (batch)`, so that the
# same SQL serves one user and a batch of users.
Owners = Callable[[Any], ColumnElement[bool]]


def const(value: str) -> ColumnElement[str]:
    """A fixed enumeration value written into the SQL rather than bound, so that PostgreSQL
    can match a partial index's predicate (`status = 'completed'`) even in a generic plan."""
    if not value.replace("_", "").isalnum():
        raise ValueError(f"not an enumeration value: {value!r}")
    return literal_column(f"'{value}'", String)


def at(value: datetime, name: str) -> Any:
    """A bound time that is stored like the columns it is compared with."""
    return bindparam(name, value, type_=UTCDateTime)


def add_days(moment: Any, days: Any, dialect: str) -> ColumnElement[datetime]:
    """`moment` + `days` × 24 h, exactly (no calendar or daylight-saving arithmetic)."""
    if dialect == "postgresql":
        return type_coerce(moment + func.make_interval(0, 0, 0, 0, 0, 0, days * 86400), UTCDateTime)
    # strftime works in milliseconds and would round .9995 s up: shift whole seconds only and
    # keep the stored microseconds as they are.
    shifted = func.strftime(
        "%Y-%m-%d %H:%M:%S",
        _substr(moment, 1, 19),
        cast(days, String) + " days",
        type_=String,
    )
    return type_coerce(shifted + _substr(moment, 20), UTCDateTime)


def _substr(text: Any, start: int | Any, length: int | None = None) -> ColumnElement[str]:
    args = (text, start) if length is None else (text, start, length)
    return func.substr(*args, type_=String)


def days_between(later: Any, earlier: Any, dialect: str) -> ColumnElement[float]:
    """(later − earlier) in days, as a float."""
    if dialect == "postgresql":
        return type_coerce(extract("epoch", later - earlier) / 86400.0, Float)
    return type_coerce(func.julianday(later) - func.julianday(earlier), Float)


def power(base: float, exponent: Any, dialect: str) -> ColumnElement[float]:
    name = func.power if dialect == "postgresql" else func.pow
    return type_coerce(name(literal(base, Float), exponent), Float)


def uuid_text(column: Any, dialect: str) -> ColumnElement[str]:
    """A uuid column as `8-4-4-4-12` lower-case text, as `str(uuid)` writes it."""
    if dialect == "postgresql":
        return cast(column, String)
    parts = [_substr(column, start, length) for start, length in _UUID_PARTS]
    text: Any = parts[0]
    for part in parts[1:]:
        text = text + "-" + part
    return func.lower(text, type_=String)


_UUID_PARTS = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))


def time_text(moment: Any, dialect: str) -> ColumnElement[str]:
    """A time as `YYYY-MM-DDTHH:MM:SS.ffffffZ`, as `time_key()` writes it."""
    if dialect == "postgresql":
        return func.to_char(
            func.timezone("UTC", moment), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"', type_=String
        )
    return func.replace(moment, " ", "T", type_=String) + "Z"


def time_key(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_uuid(dialect: str) -> ColumnElement[Any]:
    """A random (version 4) uuid made by the database, for INSERT … SELECT."""
    if dialect == "postgresql":
        return func.gen_random_uuid()
    hexes = [func.hex(func.randomblob(n), type_=String) for n in (4, 2, 2, 2, 6)]
    variant = _substr(literal("89ab", String), 1 + func.abs(func.random()) % 4, 1)
    return func.lower(
        hexes[0] + hexes[1] + "4" + _substr(hexes[2], 2) + variant + _substr(hexes[3], 2)
        + hexes[4],
        type_=String,
    )  # fmt: skip


def greatest(a: Any, b: Any, dialect: str) -> Any:
    return func.greatest(a, b) if dialect == "postgresql" else func.max(a, b)
