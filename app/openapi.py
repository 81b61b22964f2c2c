"""Write the OpenAPI document: `python -m app.openapi openapi/openapi.json` (`make openapi`).

A file, not stdout: the app logs JSON lines to stdout, and one would corrupt the document."""

from __future__ import annotations

import json
import sys

from app.core.config import Settings
from app.main import create_app


def document() -> dict[str, object]:
    # Fixed settings: the document must not depend on the environment it is generated in.
    settings = Settings(database_url="sqlite:///:memory:", secret_key="x" * 32)
    return create_app(settings).openapi()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m app.openapi <output file>")
    text = json.dumps(document(), indent=2, sort_keys=False) + "\n"
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        out.write(text)
