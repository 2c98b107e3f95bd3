"""The committed AsyncAPI document passes the AsyncAPI parser's validation (the specification's
schemas, the SNS/SQS binding schemas and the ruleset the AsyncAPI CLI runs), and a broken copy
does not, so the check can fail. The parser comes from npm, pinned in tools/asyncapi/."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCUMENT = REPO / "shared" / "src" / "taskoverflow_shared" / "asyncapi.json"


def validate(*documents: Path) -> subprocess.CompletedProcess[str]:
    # The script installs the parser first when its lock file changed (a no-op otherwise).
    command = ["bash", str(REPO / "scripts" / "asyncapi.sh"), "validate", *map(str, documents)]
    return subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)


def test_the_committed_asyncapi_document_is_valid():
    result = validate(DOCUMENT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{DOCUMENT}: valid" in result.stdout


def test_a_broken_document_fails_the_check(tmp_path):
    document = json.loads(DOCUMENT.read_text())
    document["operations"]["notifier-consumes"]["action"] = "subscribe"
    del document["components"]["schemas"]["TodoState"]
    broken = tmp_path / "asyncapi.json"
    broken.write_text(json.dumps(document))

    result = validate(broken)

    assert result.returncode == 1
    assert "operations/notifier-consumes/action" in result.stdout
    assert "'#/components/schemas/TodoState' does not exist" in result.stdout
    assert f"{broken}: INVALID" in result.stdout
