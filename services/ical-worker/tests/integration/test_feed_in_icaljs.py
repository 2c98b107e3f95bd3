"""A live feed as a calendar app reads it: ical.js (Thunderbird's parser, from npm, pinned in
tools/icaljs/) takes in the name, the refresh interval and every event with its SEQUENCE."""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ical_worker.domain import CalendarRenderer, FeedState
from taskoverflow_shared.events import TodoChanged

TOOL = Path(__file__).resolve().parents[4] / "tools" / "icaljs"


@pytest.fixture(scope="module")
def icaljs() -> Path:
    """tools/icaljs with its node_modules, installed by `npm ci` once per lock file."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are missing: run `bash scripts/install_system_deps.sh`")
    wanted = hashlib.sha256((TOOL / "package-lock.json").read_bytes()).hexdigest()
    stamp = TOOL / "node_modules" / ".package-lock.sha256"
    with (TOOL / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stamp.exists() or stamp.read_text() != wanted:
            # --ignore-scripts: nothing the parser needs runs at install time.
            subprocess.run(
                ["npm", "ci", "--prefix", str(TOOL), "--no-audit", "--no-fund", "--ignore-scripts"],
                check=True,
                capture_output=True,
                timeout=300,
            )
            stamp.write_text(wanted)
    return TOOL


def test_icaljs_reads_the_feeds_name_refresh_and_events_with_their_sequence(icaljs, kit):
    state = FeedState()
    state.apply_all(
        [
            TodoChanged(action="created", todo=kit.make_todo(1, title="Pay rent; call bank, now"), version=1),
            TodoChanged(action="updated", todo=kit.make_todo(2, title="Zoë's 🎂 " + "long " * 30), version=7),
            TodoChanged(action="deleted", todo=kit.make_todo(3), version=2),
        ]
    )
    body = state.render(CalendarRenderer()).body

    parsed = subprocess.run(
        ["node", str(icaljs / "parse.mjs")], input=body, capture_output=True, check=True, timeout=60
    )
    calendar = json.loads(parsed.stdout)

    assert (calendar["name"], calendar["refresh"], calendar["ttl"]) == ("TaskOverflow", "PT5M", "PT5M")
    assert [(e["uid"], e["sequence"], e["summary"]) for e in calendar["events"]] == [
        ("todo-1@taskoverflow", 1, "Pay rent; call bank, now"),
        ("todo-2@taskoverflow", 7, "Zoë's 🎂 " + "long " * 30),
    ]
    assert calendar["events"][0]["start"] == "2025-03-14T15:09:26"
