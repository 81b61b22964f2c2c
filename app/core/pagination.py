"""Opaque, signed keyset cursors.

A cursor carries the sort key of the last item served plus a digest of the filters it was
issued for; it is signed so that a tampered or foreign cursor is a 400, not a silent skip.
Ordering by an immutable, unique key keeps pages free of repeats and gaps while other
requests insert or delete rows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from app.core.errors import BadRequest
from app.core.examples import CURSOR_EXAMPLE, item_example

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_CURSOR_LENGTH = 2048


def _page_examples(schema: dict[str, Any], model: type[BaseModel]) -> None:
    # Each page schema (`Page_ContactPublic_`, …) shows a page of its own kind of item.
    item = item_example(model)
    schema["examples"] = [{"items": [item] if item else [], "next_cursor": CURSOR_EXAMPLE}]


class Page(BaseModel, Generic[T]):
    model_config = ConfigDict(json_schema_extra=_page_examples)

    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def filters_digest(filters: dict[str, Any]) -> str:
    canonical = json.dumps(filters, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class CursorCodec:
    def __init__(self, key: str, purpose: str) -> None:
        # One derived key per purpose: a list cursor is never accepted as a sync cursor.
        self._key = hmac.new(key.encode(), f"cursor:{purpose}".encode(), hashlib.sha256).digest()

    def _sign(self, payload: bytes) -> str:
        return _b64(hmac.new(self._key, payload, hashlib.sha256).digest()[:16])

    def encode(self, data: dict[str, Any]) -> str:
        payload = json.dumps(data, separators=(",", ":"), default=str).encode()
        return f"{_b64(payload)}.{self._sign(payload)}"

    def decode(self, cursor: str) -> dict[str, Any]:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise BadRequest("The cursor is malformed or was not issued by this server.")
        try:
            body, signature = cursor.split(".", 1)
            payload = _unb64(body)
            valid = hmac.compare_digest(self._sign(payload), signature)
            data = json.loads(payload) if valid else None
        except (ValueError, binascii.Error, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            raise BadRequest("The cursor is malformed or was not issued by this server.")
        return data
