"""JSON Schema files for every event, generated from the pydantic models into the repository.

`taskoverflow-export-schemas` rewrites them and the AsyncAPI document built from them; a test
fails when code and files drift.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from taskoverflow_shared.events import EVENT_TYPES, Envelope, schema_uri

SCHEMA_DIR = Path(__file__).parent / "schemas"


def expected_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema, for the envelope and each event type's current major version."""
    files = {"Envelope.json": Envelope.model_json_schema()}
    for event_type, model in EVENT_TYPES.items():
        major = model.schema_version.split(".")[0]
        schema = model.model_json_schema()
        # The URI every envelope of this type carries as its `dataschema`.
        schema["$id"] = schema_uri(event_type, major)
        schema["x-schema-version"] = model.schema_version
        files[f"{event_type}.v{major}.json"] = schema
    return files


def expected_schema_files() -> dict[str, str]:
    return {name: json.dumps(schema, indent=2, sort_keys=True) + "\n" for name, schema in expected_schemas().items()}


def main() -> int:
    SCHEMA_DIR.mkdir(exist_ok=True)
    for stale in SCHEMA_DIR.glob("*.json"):
        stale.unlink()
    for name, text in expected_schema_files().items():
        (SCHEMA_DIR / name).write_text(text)
        print(f"wrote {SCHEMA_DIR / name}")
    # Imported here: the AsyncAPI document is built from this module's schemas.
    from taskoverflow_shared.asyncapi import ASYNCAPI_FILE, asyncapi_text

    (SCHEMA_DIR.parent / ASYNCAPI_FILE).write_text(asyncapi_text())
    print(f"wrote {SCHEMA_DIR.parent / ASYNCAPI_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
