"""The committed OpenAPI document is the app's, and reads well in generated clients."""

from __future__ import annotations

import json

from app.openapi import document
from tests.conftest import ROOT


def test_committed_document_matches_the_app() -> None:
    committed = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    assert committed == document(), "openapi/openapi.json is stale: run `make openapi`"


def test_operation_ids_read_as_domain_and_action() -> None:
    ids = [
        op["operationId"]
        for path in document()["paths"].values()
        for op in path.values()
        if isinstance(op, dict) and "operationId" in op
    ]
    assert len(ids) == len(set(ids))
    for expected in [
        "contacts-list",
        "contacts-create",
        "contacts-get",
        "contacts-update",
        "contacts-delete",
        "auth-register",
        "auth-token",
        "auth-refresh",
        "me-get",
        "me-update",
        "health-liveness",
        "health-readiness",
    ]:
        assert expected in ids


def test_every_operation_declares_problem_errors_and_posts_take_idempotency_key() -> None:
    spec = document()
    assert "Problem" in spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if path.startswith("/v1/"):
                errors = [code for code in op["responses"] if code.startswith(("4", "5"))]
                assert errors, f"{method} {path} declares no error responses"
                for code in errors:
                    content = op["responses"][code].get("content", {})
                    assert "application/problem+json" in content, f"{method} {path} {code}"
            if method == "post":
                names = [p["name"] for p in op.get("parameters", [])]
                assert "Idempotency-Key" in names, path


def test_patch_operations_document_merge_patch_bodies() -> None:
    spec = document()
    patches = [item["patch"] for item in spec["paths"].values() if "patch" in item]
    assert len(patches) >= 5
    for op in patches:
        content = op["requestBody"]["content"]
        assert content["application/merge-patch+json"] == content["application/json"]
