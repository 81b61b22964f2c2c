"""HTTP for contact import and export. Registered before the contacts router, whose
`/{contact_id}` would otherwise take `/export`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import StreamingResponse
from starlette.responses import Response

from app.core.deps import Rt, Session, UserId
from app.core.errors import UnsupportedMediaType, problem_responses
from app.core.http import json_response
from app.core.routing import RapportRoute
from app.transfer import service
from app.transfer.models import ExportFormat, ImportReport

router = APIRouter(prefix="/v1/contacts", tags=["contacts"], route_class=RapportRoute)


def multipart_body(request: Request) -> None:
    """415 for a body that is not a multipart form (FastAPI would only say 422)."""
    media_type = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media_type != "multipart/form-data":
        raise UnsupportedMediaType("Send the file as `multipart/form-data`, in the field `file`.")


_VCARD = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Grace Hopper\r\nN:Hopper;Grace;;;\r\n"
    "EMAIL:grace@example.com\r\nTEL:+1 202 555 0147\r\nORG:Navy Research Lab\r\n"
    "CATEGORIES:compilers,mentor\r\nEND:VCARD\r\n"
)
_CSV = (
    "\ufeffRapport ID,Full Name,Email,Phone,Organization,Title\r\n"
    "0b7e3f5e-8a0e-4d5e-9b8f-2c1d3e4f5a6b,Grace Hopper,grace@example.com,+1 202 555 0147,"
    "Navy Research Lab,Rear Admiral\r\n"
)

IMPORT_DESCRIPTION = """
Imports contacts from a file in the multipart field `file`:

- **vCard** 2.1, 3.0 or 4.0, one or many cards (`FN`/`N`, `EMAIL`, `TEL`, `ORG`, `TITLE`,
  `NOTE`, `CATEGORIES` as tags; photos are ignored);
- **CSV** exported by Google Contacts (current and older layouts), Outlook, LinkedIn
  (connections: circle `online`, `how_met` names LinkedIn and the date), or by
  `GET /v1/contacts/export?format=csv`.

The format is recognised from the content. Text must be UTF-8 or UTF-16 with a byte-order
mark, unless the file part's Content-Type names another charset
(`text/csv; charset=windows-1252`).

Each record is matched to one of your contacts — by the id our exports carry, then by email
(case-insensitive), then by phone number (national numbers are read in the country of your
time zone) — or to an earlier record of the same file. A match only gains the fields it
lacks and the tags it does not have; nothing you wrote is overwritten. Records that cannot
be imported (no name, a field over its limit) are listed in `errors` and the others are
imported. Exporting and importing the same file again changes nothing.

A file that cannot be read at all imports nothing: 415 (binary, undecodable, unknown
charset), 422 (empty, malformed, unknown CSV header, or not one importable record), 413 (over
the size limit, or more records than the record limit: split the file).
"""


@router.post(
    "/import",
    name="import",
    response_model=ImportReport,
    summary="Import contacts from a vCard or CSV file",
    description=IMPORT_DESCRIPTION,
    dependencies=[Depends(multipart_body)],
    responses=problem_responses(400, 401, 409, 413, 415, 422),
    # FastAPI names the form schema itself (`Body_contacts-import`): the example goes on the
    # media type.
    openapi_extra={
        "requestBody": {"content": {"multipart/form-data": {"example": {"file": _VCARD}}}}
    },
)
async def import_contacts(
    # `format: binary` beside OpenAPI 3.1's `contentMediaType`: generators that predate 3.1
    # (openapi-python-client 0.29, many others) otherwise type the file as a plain string.
    file: Annotated[
        UploadFile,
        File(description="A vCard (.vcf) or CSV file.", json_schema_extra={"format": "binary"}),
    ],
    session: Session,
    user_id: UserId,
    rt: Rt,
) -> Response:
    # The body limit (BodyLimitMiddleware) has already bounded the size of this read.
    data = await file.read()
    report = await service.import_file(
        session,
        user_id,
        data,
        file.content_type,
        max_records=rt.settings.import_max_records,
    )
    return json_response(report)


_MEDIA_TYPES = {ExportFormat.vcf: "text/vcard", ExportFormat.csv: "text/csv"}


@router.get(
    "/export",
    name="export",
    response_class=StreamingResponse,
    summary="Export all contacts as vCard or CSV",
    description=(
        "Streams every live contact, oldest first: vCard 3.0 (`UID:urn:uuid:<id>`, `FN`, `N`, "
        "`EMAIL`, `TEL`, `ORG`, `TITLE`, `NOTE`, `CATEGORIES`) or CSV with a header row "
        "(`Rapport ID`, `Full Name`, … ; UTF-8 with a byte-order mark; cells that a "
        "spreadsheet would run as a formula are prefixed with `'`). Importing the file "
        "again changes nothing."
    ),
    responses={
        200: {
            "description": "The file, as an attachment.",
            "content": {
                "text/vcard": {"schema": {"type": "string"}, "example": _VCARD},
                "text/csv": {"schema": {"type": "string"}, "example": _CSV},
            },
        },
        **problem_responses(401, 422),
    },
)
async def export_contacts(
    user_id: UserId,
    rt: Rt,
    fmt: Annotated[
        ExportFormat, Query(alias="format", description="`vcf` (vCard 3.0) or `csv`.")
    ] = ExportFormat.vcf,
) -> StreamingResponse:
    day = datetime.now(UTC).date().isoformat()
    return StreamingResponse(
        service.export_chunks(rt.db, user_id, fmt),
        media_type=f"{_MEDIA_TYPES[fmt]}; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="rapport-contacts-{day}.{fmt.value}"',
            "Cache-Control": "no-store",
        },
    )
