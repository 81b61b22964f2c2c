"""The sync feed's answer: per resource, records to upsert and ids to delete."""

from __future__ import annotations

import uuid
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from app.asks.models import AskPublic
from app.contacts.models import ContactPublic
from app.core.examples import item_example
from app.etiquette.models import TaskPublic
from app.interactions.models import InteractionPublic

T = TypeVar("T")

DEFAULT_SYNC_LIMIT = 200
MAX_SYNC_LIMIT = 1000


def _changes_examples(schema: dict[str, Any], model: type[BaseModel]) -> None:
    item = item_example(model)
    schema["examples"] = [
        {"upserted": [item] if item else [], "deleted": ["5d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a"]}
    ]


class ResourceChanges(BaseModel, Generic[T]):
    model_config = ConfigDict(
        json_schema_extra=_changes_examples, json_schema_serialization_defaults_required=True
    )

    upserted: list[T] = Field(
        default_factory=list,
        description="Created or changed since the cursor: store each by `id`, replacing any "
        "copy (compare `version` if you keep local edits).",
    )
    deleted: list[uuid.UUID] = Field(
        default_factory=list, description="Deleted since the cursor: remove these ids."
    )


# One deletion: the example both the changes and the page show.
_CHANGES: dict[str, Any] = {
    "contacts": {"upserted": [], "deleted": ["0b7e3f5e-8a0e-4d5e-9b8f-2c1d3e4f5a6b"]},
    "interactions": {"upserted": [], "deleted": []},
    "asks": {"upserted": [], "deleted": []},
    "etiquette_tasks": {"upserted": [], "deleted": []},
}


class SyncChanges(BaseModel):
    model_config = ConfigDict(
        json_schema_serialization_defaults_required=True,
        json_schema_extra={"examples": [_CHANGES]},
    )

    contacts: ResourceChanges[ContactPublic] = Field(default_factory=ResourceChanges)
    interactions: ResourceChanges[InteractionPublic] = Field(default_factory=ResourceChanges)
    asks: ResourceChanges[AskPublic] = Field(default_factory=ResourceChanges)
    etiquette_tasks: ResourceChanges[TaskPublic] = Field(default_factory=ResourceChanges)


class SyncPage(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "changes": _CHANGES,
                    "cursor": "eyJ2IjoxfQ.c2lnbmF0dXJl",
                    "has_more": False,
                }
            ]
        }
    }

    changes: SyncChanges
    cursor: str = Field(
        description="Pass as `cursor` next time. With `has_more` true, ask again at once; "
        "otherwise keep it for the next sync."
    )
    has_more: bool = Field(description="More changes are waiting: call again with `cursor`.")
