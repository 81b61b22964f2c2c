"""Print the OpenAPI document (`make openapi` writes it to openapi/openapi.json)."""

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
    json.dump(document(), sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")
