"""Schemas of import and export."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class ExportFormat(StrEnum):
    """`vcf`: vCard 3.0; `csv`: one row per contact, our own header."""

    vcf = "vcf"
    csv = "csv"


class ImportRecordError(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"record": 12, "detail": "The record has no name."}]}
    )

    record: int = Field(
        ge=1,
        description="1-based position of the record in the file: the n-th card of a vCard "
        "file, or the n-th non-blank row after a CSV file's header.",
    )
    detail: str = Field(description="Why the record was not imported.")


class ImportReport(BaseModel):
    """What an import did. Every record of the file is counted once: `created + updated +
    skipped + len(errors)` is the number of records."""

    model_config = ConfigDict(
        json_schema_serialization_defaults_required=True,
        json_schema_extra={
            "examples": [
                {
                    "created": 42,
                    "updated": 3,
                    "skipped": 7,
                    "errors": [
                        {"record": 12, "detail": "The record has no name."},
                        {
                            "record": 31,
                            "detail": "notes: String should have at most 10000 characters.",
                        },
                    ],
                }
            ]
        },
    )

    created: int = Field(ge=0, description="Records that became new contacts.")
    updated: int = Field(
        ge=0,
        description="Records that matched a contact (an existing one, or one made from an "
        "earlier record of the file) and filled some of its empty fields or added tags.",
    )
    skipped: int = Field(
        ge=0, description="Records that matched a contact and had nothing to add to it."
    )
    errors: list[ImportRecordError] = Field(
        default_factory=list, description="Records that were not imported, in file order."
    )
