"""The system-package script's promise: after it ran (as `make test` does first), every program
the tiers call is on the machine, and a missing one is named."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "install_system_deps.sh"
BASH = shutil.which("bash") or "/bin/bash"


def test_every_program_the_tiers_call_is_installed():
    checked = subprocess.run([BASH, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=60)

    assert checked.returncode == 0, checked.stderr


def test_the_check_names_a_program_it_cannot_find():
    checked = subprocess.run(
        [BASH, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=60, env={"PATH": "/nonexistent"}
    )

    assert checked.returncode != 0
    assert "chromium" in checked.stderr.split("missing after installing system packages:")[1]
