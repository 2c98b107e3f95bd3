"""docs/settings.md is what the settings models say: a variable added, renamed, re-defaulted or
re-described in a model fails here until `python scripts/settings_reference.py` has run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "settings_reference.py"


def test_the_settings_reference_matches_the_models():
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stdout + result.stderr


def test_every_variable_of_the_models_is_in_the_reference():
    reference = (REPO / "docs" / "settings.md").read_text()
    for variable in ("DATABASE_URL", "TODO_API_STARTUP_WAIT_SECONDS", "NOTIFIER_WEBHOOK_URLS", "METRICS_EXPORTER"):
        assert f"`{variable}`" in reference
