"""Where a test session leaves its logs and emulator state: artifacts/, or TEST_ARTIFACTS when
`make test` runs two sessions side by side, so neither clears the other's LocalStack state."""

from __future__ import annotations

import os
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS") or REPOSITORY / "artifacts").resolve()
