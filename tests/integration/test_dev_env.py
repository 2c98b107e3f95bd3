"""dev.env lies under the shell's environment (the convention of compose, python-dotenv and
direnv): `NOTIFIER_WEBHOOK_URLS=... make run` reaches the processes, dev.env fills in the rest.

The make targets run their commands through scripts/with_dev_env.sh; the last test runs
`make run` itself, with a Procfile whose one process reports what it was given.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WITH_DEV_ENV = REPO / "scripts" / "with_dev_env.sh"
SHELL_VALUE = "http://127.0.0.1:6499/hook"


def dev_env() -> dict[str, str]:
    lines = (REPO / "dev.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def clean_environment(**variables: str) -> dict[str, str]:
    """This process's environment without dev.env's keys (and without an outer make's flags)."""
    keep = {k: v for k, v in os.environ.items() if k not in dev_env() and not k.startswith(("MAKE", "MFLAGS"))}
    return {**keep, **variables}


def environment_seen_through_the_loader(env: dict[str, str]) -> dict[str, str]:
    printed = subprocess.run(
        ["bash", str(WITH_DEV_ENV), "env", "-0"], env=env, capture_output=True, text=True, check=True, timeout=30
    ).stdout
    return dict(entry.split("=", 1) for entry in printed.split("\0") if entry)


def test_a_variable_set_in_the_shell_wins_over_dev_env_and_the_rest_come_from_dev_env():
    seen = environment_seen_through_the_loader(clean_environment(NOTIFIER_WEBHOOK_URLS=SHELL_VALUE))

    assert seen["NOTIFIER_WEBHOOK_URLS"] == SHELL_VALUE
    for key, value in dev_env().items():
        if key != "NOTIFIER_WEBHOOK_URLS":
            assert seen[key] == value, key


def test_a_variable_set_empty_in_the_shell_stays_empty():
    seen = environment_seen_through_the_loader(clean_environment(NOTIFIER_SMTP_URL=""))

    assert seen["NOTIFIER_SMTP_URL"] == ""


def test_a_line_that_is_not_key_equals_value_is_refused(tmp_path):
    broken = tmp_path / "broken.env"
    broken.write_text("# fine\nAWS_REGION=us-east-1\nexport NOT=THIS\n")

    finished = subprocess.run(
        ["bash", str(WITH_DEV_ENV), "true"],
        env=clean_environment(DEV_ENV_FILE=str(broken)),
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert finished.returncode == 2
    assert "not a KEY=VALUE line: export NOT=THIS" in finished.stderr


def test_make_run_gives_its_processes_the_shells_value(tmp_path):
    probe = tmp_path / "Procfile"
    probe.write_text("probe: printenv NOTIFIER_WEBHOOK_URLS AWS_ENDPOINT_URL\n")
    env = clean_environment(
        NOTIFIER_WEBHOOK_URLS=SHELL_VALUE,
        # The shell's database too, so the migration `make run` does first stays out of data/.
        DATABASE_URL=f"sqlite:///{tmp_path / 'todo-api.sqlite3'}",
    )

    finished = subprocess.run(
        ["make", "--no-print-directory", "run", f"PROCFILE={probe}", "EMULATOR=moto"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    printed = [match[1] for match in re.finditer(r"probe\.1\s*\| (.*)", finished.stdout)]
    assert printed == [SHELL_VALUE, dev_env()["AWS_ENDPOINT_URL"]]
    assert (tmp_path / "todo-api.sqlite3").exists()
