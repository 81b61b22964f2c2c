"""Examples of container schemas (pages, sync changes) built from their items' own examples."""

from __future__ import annotations

from typing import Any, cast

from pydantic import BaseModel

# What a `next_cursor` or sync `cursor` looks like: opaque, base64url and a signature.
CURSOR_EXAMPLE = "eyJrIjpbIjIwMjYtMTEtMjBUMTA6MDA6MDBaIl19.c2lnbmF0dXJlMTIz"


def example_of(model: object) -> dict[str, Any] | None:
    """The first example a model's schema declares."""
    config = getattr(model, "model_config", None) or {}
    extra = config.get("json_schema_extra")
    examples = extra.get("examples") if isinstance(extra, dict) else None
    return cast(dict[str, Any], examples[0]) if examples else None


def item_example(model: type[BaseModel]) -> dict[str, Any] | None:
    """The example of `ContactPublic`, for `Page[ContactPublic]`."""
    args = model.__pydantic_generic_metadata__["args"]
    return example_of(args[0]) if args else None
