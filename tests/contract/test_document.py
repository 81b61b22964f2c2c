"""The OpenAPI document generates good clients: every operation is named, described, exemplified
and declares its errors as problems.

These walk `app.openapi()` (the same document `make openapi` commits) and fail naming the
operation and what it lacks, so a new route cannot slip in half-documented.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from app.openapi import document

PROBLEM_REF = "#/components/schemas/Problem"
PROBLEM_JSON = "application/problem+json"
# Operations a caller reaches without a bearer token, each for a reason: probes, the sign-up
# and sign-in flow itself, and the calendar feed (its secret is in the path, because
# calendar apps cannot send headers).
PUBLIC = {
    "health-liveness",
    "health-readiness",
    "auth-register",
    "auth-token",
    "auth-refresh",
    "calendar-feed",
}
OPERATION_ID = re.compile(r"^[a-z][a-z0-9-]*$")
METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}

SPEC: dict[str, Any] = document()


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


OPERATIONS = list(_operations())
IDS = [f"{method.upper()} {path}" for path, method, _ in OPERATIONS]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = SPEC["components"]["schemas"][name]
    return schema


def _has_examples(schema: dict[str, Any]) -> bool:
    resolved = _resolve(schema)
    if resolved.get("examples") or "example" in resolved:
        return True
    # An optional body (`RunRequest | null`) or a union of answers (`UserRun | AllUsersRun`):
    # the examples of what it may be.
    union = resolved.get("anyOf", []) or resolved.get("oneOf", [])
    options = [o for o in union if o.get("type") != "null"]
    return bool(options) and all(_has_examples(o) for o in options)


def _walk(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{where}/{i}")


@pytest.fixture(params=OPERATIONS, ids=IDS)
def operation(request: pytest.FixtureRequest) -> tuple[str, str, dict[str, Any]]:
    found: tuple[str, str, dict[str, Any]] = request.param
    return found


def test_the_document_has_operations() -> None:
    assert len(OPERATIONS) >= 30


def test_operation_id_reads_as_a_method_name_of_its_tag(
    operation: tuple[str, str, dict[str, Any]],
) -> None:
    _, _, op = operation
    op_id = op["operationId"]
    assert OPERATION_ID.match(op_id), op_id
    # `contacts-list` → `contacts_list()` / `contactsList()`: the domain, then the action.
    tag = op["tags"][0]
    assert op_id.startswith(f"{tag}-") and len(op_id) > len(tag) + 1, op_id
    assert "--" not in op_id and not op_id.endswith("-"), op_id


def test_operation_ids_are_unique() -> None:
    ids = [op["operationId"] for _, _, op in OPERATIONS]
    assert len(ids) == len(set(ids))


def test_exactly_one_tag_and_it_is_declared(operation: tuple[str, str, dict[str, Any]]) -> None:
    _, _, op = operation
    assert len(op.get("tags", [])) == 1, op.get("tags")
    declared = {tag["name"]: tag for tag in SPEC.get("tags", [])}
    assert op["tags"][0] in declared, f"tag {op['tags'][0]!r} missing from the document's tags"
    assert declared[op["tags"][0]].get("description"), "each domain tag says what it holds"


def test_summary_and_description(operation: tuple[str, str, dict[str, Any]]) -> None:
    _, _, op = operation
    assert op.get("summary", "").strip(), "no summary"
    assert op.get("description", "").strip(), "no description"
    assert op["description"].strip() != op["summary"].strip(), "the description only repeats"


def test_request_body_schemas_have_examples(operation: tuple[str, str, dict[str, Any]]) -> None:
    _, _, op = operation
    for media_type, content in op.get("requestBody", {}).get("content", {}).items():
        # On the schema, or on the media type (a file upload has no schema of its own to hold
        # one).
        assert (
            _has_examples(content["schema"]) or "example" in content or content.get("examples")
        ), f"request body {media_type} has no examples"


def test_json_response_schemas_have_examples(operation: tuple[str, str, dict[str, Any]]) -> None:
    _, _, op = operation
    for status, response in op["responses"].items():
        for media_type, content in response.get("content", {}).items():
            if media_type.endswith("json"):
                assert _has_examples(content["schema"]), f"{status} {media_type} has no examples"
            else:
                # Files and feeds: an example of the text helps as much.
                assert (
                    "example" in content
                    or "examples" in content
                    or _has_examples(content["schema"])
                ), f"{status} {media_type} has no example"


def test_errors_are_problems(operation: tuple[str, str, dict[str, Any]]) -> None:
    _, _, op = operation
    errors = {s: r for s, r in op["responses"].items() if s[0] in "45"}
    if op.get("parameters") or op.get("requestBody") or op.get("security"):
        # Only the liveness probe takes nothing and can refuse nothing.
        assert errors, "declares no error response"
    for status, response in errors.items():
        content = response.get("content", {})
        # Only the media type the server sends: a client must not expect application/json.
        assert list(content) == [PROBLEM_JSON], f"{status}: {list(content)}"
        assert content[PROBLEM_JSON]["schema"] == {"$ref": PROBLEM_REF}, status
        # The headers a client must act on are declared, so generated clients expose them.
        wanted = {"401": "WWW-Authenticate", "429": "Retry-After", "503": "Retry-After"}
        if status in wanted:
            assert wanted[status] in response.get("headers", {}), f"{status} {wanted[status]}"


def test_bearer_operations_declare_security_and_401(
    operation: tuple[str, str, dict[str, Any]],
) -> None:
    _, _, op = operation
    if op["operationId"] in PUBLIC:
        assert not op.get("security"), "a public operation must not ask for a token"
        return
    schemes = {name for requirement in op.get("security", []) for name in requirement}
    assert schemes and schemes <= set(SPEC["components"]["securitySchemes"]), schemes
    assert "401" in op["responses"]


def test_operations_with_input_declare_422(operation: tuple[str, str, dict[str, Any]]) -> None:
    _, _, op = operation
    if op.get("parameters") or op.get("requestBody"):
        assert "422" in op["responses"]


def test_the_security_scheme_is_declared() -> None:
    schemes = SPEC["components"]["securitySchemes"]
    assert schemes, "no security scheme"
    for scheme in schemes.values():
        assert scheme.get("description"), "say how to get and send a token"
    flows = [s for s in schemes.values() if s["type"] == "oauth2"]
    assert flows and flows[0]["flows"]["password"]["tokenUrl"] == "/v1/auth/token"


def test_every_enum_is_a_named_component() -> None:
    schemas = SPEC["components"]["schemas"]
    named = {f"/components/schemas/{name}" for name in schemas}
    inline = [
        where
        for where, node in _walk(SPEC, "")
        if "enum" in node and isinstance(node["enum"], list) and where not in named
    ]
    assert not inline, f"anonymous enums at {inline}"
    for name, schema in schemas.items():
        if "enum" in schema:
            assert schema.get("description"), f"enum {name} says what its values mean"


def test_every_object_schema_has_examples() -> None:
    # Nested schemas too: client generators copy them into documentation and mocks.
    missing = [
        name
        for name, schema in SPEC["components"]["schemas"].items()
        if schema.get("type") == "object"
        and not _has_examples(schema)
        # FastAPI's own wrapper of the import's `file` field: its example is on the media
        # type, which test_request_body_schemas_have_examples checks.
        and name != "Body_contacts-import"
    ]
    assert not missing, missing
