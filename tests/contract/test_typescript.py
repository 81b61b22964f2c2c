"""TypeScript types generated from the committed document type-check a web app's uses of them.

`make typescript` generates clients/typescript/rapport.d.ts with openapi-typescript (the
version package-lock.json pins) and runs `tsc --strict` on clients/typescript/usage.ts: a
change to the document that breaks those uses fails here. It needs Node and npm: without them
the test is skipped, except in CI, where that is a failure (CI has Node 20).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import IN_CI, ROOT


def test_generated_typescript_types_check_against_a_web_apps_usage() -> None:
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        reason = f"{' and '.join(missing)} not on PATH"
        if IN_CI:
            pytest.fail(f"Node is required in CI: {reason}")
        pytest.skip(reason)
    result = subprocess.run(
        ["make", "--no-print-directory", "typescript"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"make typescript failed:\n{result.stdout}\n{result.stderr}"
