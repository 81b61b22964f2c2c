"""JSON merge patch (RFC 7396) onto a record: absent = unchanged, null = clear."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from app.core.errors import Unprocessable


def apply_merge_patch(
    record: Any,
    changes: Mapping[str, Any],
    *,
    required: set[str] = frozenset(),  # type: ignore[assignment]
    defaults: Mapping[str, Callable[[], Any]] | None = None,
) -> bool:
    """Apply validated `changes` (from `model_dump(exclude_unset=True)`) to `record`.

    null clears a field: to its default when it has one (`tags` → `[]`), to null when it is
    nullable; a required field cannot be cleared (422). Returns whether anything changed.
    """
    defaults = defaults or {}
    cleared = sorted(name for name, value in changes.items() if value is None and name in required)
    if cleared:
        raise Unprocessable(
            "These fields cannot be cleared with null.",
            errors=[
                {"field": f"body.{name}", "message": "may not be null", "code": "null_not_allowed"}
                for name in cleared
            ],
        )
    changed = False
    for name, value in changes.items():
        if value is None and name in defaults:
            value = defaults[name]()
        if getattr(record, name) != value:
            setattr(record, name, value)
            changed = True
    return changed
