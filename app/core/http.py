"""Building responses: JSON bodies with ETag, Location, and 304 for conditional reads."""

from __future__ import annotations

import enum
import json
import types
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Union, get_args, get_origin

import pydantic_core
from pydantic import AwareDatetime, BaseModel, PlainSerializer, WrapSerializer
from sqlalchemy.engine import Row
from starlette.requests import Request
from starlette.responses import Response

from app.core.etags import etag_for, if_none_match_hits
from app.core.types import _format_utc

# A response body: a model, or what `Encoder` made of records for one (dicts and lists of
# JSON values), which pydantic-core writes exactly as it would write the model.
Body = BaseModel | dict[str, Any] | list[Any]


def _to_json(body: Body) -> bytes:
    if isinstance(body, BaseModel):
        return body.model_dump_json().encode()
    return pydantic_core.to_json(body)


def _same(value: Any) -> Any:
    return value


def _optional(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else convert(value)


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _converter(annotation: Any) -> Callable[[Any], Any]:
    """How a stored value becomes the JSON value a response model would write for it."""
    args = get_args(annotation)
    if get_origin(annotation) is Annotated:
        serializers = [m for m in args[1:] if isinstance(m, PlainSerializer | WrapSerializer)]
        if any(m.func is not _format_utc for m in serializers):
            raise TypeError(f"unsupported serializer on {annotation!r}")
        return _converter(args[0])
    if get_origin(annotation) in (Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"unsupported union {annotation!r}")
        convert = _converter(inner[0])
        return convert if convert in (_same, _enum_value) else _optional(convert)
    if get_origin(annotation) is list:
        item = _converter(args[0]) if args else _same
        if item is _same:
            return _json_list
        return lambda values: [item(v) for v in _json_list(values)]
    if isinstance(annotation, type):
        if issubclass(annotation, datetime | AwareDatetime):
            return _time_text
        if issubclass(annotation, uuid.UUID):
            return _uuid_text
        if issubclass(annotation, enum.Enum):
            return _enum_value
        if issubclass(annotation, str | int | float | bool):
            return _same
    raise TypeError(f"unsupported field type {annotation!r}")


# Rows read in their stored form (`app/core/db.py` `stored_form`) hold SQLite's text for uuids,
# times and JSON arrays; the converters below write them out directly. Parsing them into
# Python values and formatting those again was a third of the CPU of a page of 50 contacts.


def _uuid_text(value: Any) -> str:
    if isinstance(value, str):
        if len(value) == 32:  # SQLite's form: 32 hex digits
            v = value.lower()
            return f"{v[:8]}-{v[8:12]}-{v[12:16]}-{v[16:20]}-{v[20:]}"
        return str(uuid.UUID(value))
    return str(value)


def _time_text(value: Any) -> str:
    if isinstance(value, str):
        # SQLite's form, in UTC: `YYYY-MM-DD HH:MM:SS.ffffff`. Written as `_format_utc` writes
        # the time (isoformat: no fraction when it is zero).
        if len(value) == 26 and value[10] == " " and value[19] == ".":
            fraction = value[19:]
            return f"{value[:10]}T{value[11:19]}{'' if fraction == '.000000' else fraction}Z"
        parsed = datetime.fromisoformat(value)
        value = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return _format_utc(value)


def _json_list(value: Any) -> list[Any]:
    return json.loads(value) if isinstance(value, str) else list(value)


class Encoder:
    """A flat response model's JSON form of a record, read straight from its attributes.

    Validating a stored record into the model before writing it (`model_validate` with
    `from_attributes`) cost about 70 µs per record, most of a page of 50 contacts: what comes
    from the database is valid already. Only flat models (times, uuids, enums, scalars and
    lists of them) are accepted; the output is the model's own, field for field, from model
    instances, rows or rows in their stored form (tests/core/test_http.py checks each against
    `model_dump_json`)."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        self.fields = [
            (name, _converter(info.annotation)) for name, info in model.model_fields.items()
        ]

    def __call__(self, record: Any) -> dict[str, Any]:
        return {name: convert(getattr(record, name)) for name, convert in self.fields}

    def many(self, records: list[Any]) -> list[dict[str, Any]]:
        """Each record's JSON form; rows (`Row`) are read by position, a third of the time
        their attributes take."""
        if not records or not isinstance(records[0], Row):
            return [self(r) for r in records]
        columns = records[0]._fields
        fields = [(name, columns.index(name), convert) for name, convert in self.fields]
        return [{name: convert(row[i]) for name, i, convert in fields} for row in records]

    def page(self, records: list[Any], next_cursor: str | None) -> dict[str, Any]:
        """`Page[model]`'s JSON form."""
        return {"items": self.many(records), "next_cursor": next_cursor}


def json_response(
    model: Body,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(
        content=_to_json(model),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def record_response(
    request: Request,
    model: Body | Callable[[], Body],
    version: int,
    *,
    status_code: int = 200,
    location: str | None = None,
    computed: str | None = None,
) -> Response:
    """A single record, with its ETag; 304 when the client's `If-None-Match` is current.

    `model` may be a callable making the body, so that a 304 does not build it. `computed`
    names the parts of the representation derived from other records, so that the ETag
    changes when they do.
    """
    etag = etag_for(version, computed)
    if request.method == "GET" and if_none_match_hits(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag})
    headers = {"ETag": etag}
    if location:
        headers["Location"] = location
    body = model() if callable(model) else model
    return json_response(body, status_code=status_code, headers=headers)
