"""Where a test session leaves its logs and emulator state: artifacts/, or TEST_ARTIFACTS when
`make test` runs two sessions side by side, and below it one folder per pytest-xdist worker, so
no session or worker clears another's LocalStack state or writes into its logs."""

from __future__ import annotations

import os
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS") or REPOSITORY / "artifacts").resolve() / os.environ.get(
    "PYTEST_XDIST_WORKER", ""
)
