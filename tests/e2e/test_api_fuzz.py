"""Schemathesis against the running API, driven by the OpenAPI document the API serves.

Every phase of `st run` (the document's examples, boundary values and invalid inputs, random
inputs, and stateful sequences following the links it infers: create, then get, change,
delete) must find no server error and only responses the document describes: status, media
type, headers and body schema.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import requests

from tests.support.system import ARTIFACTS

ST = Path(sys.executable).parent / "st"
# Every check schemathesis has (no 5xx; status, media type, headers and body as documented;
# invalid input refused; 405 with Allow; a deleted todo is gone, a created one is there), but
# positive_data_acceptance: "2030-02-30T10:00:00" fits the documented deadline pattern, yet is
# no date, and a pattern cannot say which days each month has.
CHECKS = "all"
EXCLUDED_CHECKS = "positive_data_acceptance"
MIN_CASES = 1000
# Per operation and phase; the 9 operations make about 1,200 cases in about 45 s on 2 cores.
MAX_EXAMPLES = 120
# Fixed, so a failure reproduces with the command printed; FUZZ_SEED explores other inputs.
SEED = os.environ.get("FUZZ_SEED", "20261127")


def test_generated_requests_find_no_server_error_and_only_documented_responses(running_system, capsys):
    workdir = ARTIFACTS / "api-fuzz"
    workdir.mkdir(parents=True, exist_ok=True)
    report = workdir / "report.json"
    report.unlink(missing_ok=True)
    todos_before = _todo_ids(running_system.api_url)
    command = [
        str(ST),
        "run",
        f"{running_system.api_url}/api/v1/openapi.json",
        f"--checks={CHECKS}",
        f"--exclude-checks={EXCLUDED_CHECKS}",
        f"--max-examples={MAX_EXAMPLES}",
        f"--seed={SEED}",
        # One worker: with two, CPython 3.11's ast.parse, called from Hypothesis in both threads,
        # fails now and then ("AST constructor recursion depth mismatch").
        "--workers=1",
        "--report=json",
        f"--report-json-path={report}",
        "--no-color",
    ]
    print("$", " ".join(command))
    # cwd: schemathesis keeps its example database and default report folder there.
    finished = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=240)
    (workdir / "output.txt").write_text(finished.stdout + finished.stderr)
    try:
        assert report.exists(), f"schemathesis did not finish:\n{finished.stdout[-20_000:]}{finished.stderr}"
        results = json.loads(report.read_text())
        cases = results["test_cases"]
        with capsys.disabled():  # the count belongs in every run's output, not only in failures
            print(f"\nschemathesis: {cases['generated']} cases, {cases['with_failures']} with failures, seed {SEED}")
        assert finished.returncode == 0, f"schemathesis found problems:\n{finished.stdout[-20_000:]}"
        assert results["operations"]["tested"] == results["operations"]["total"]
        assert cases["generated"] >= MIN_CASES
    finally:
        _delete_todos_created_since(running_system.api_url, todos_before)
        # Its hundreds of calendar jobs must not slow the tests that share the system after this one.
        running_system.wait_until_idle()


def _todo_ids(api_url: str) -> set[int]:
    return {todo["id"] for todo in requests.get(f"{api_url}/api/v1/todos", timeout=30).json()}


def _delete_todos_created_since(api_url: str, before: set[int]) -> None:
    """The system is shared by the session: leave it without the fuzzer's hundreds of todos."""
    for todo_id in sorted(_todo_ids(api_url) - before):
        requests.delete(f"{api_url}/api/v1/todos/{todo_id}", timeout=30)
