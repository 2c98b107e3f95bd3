"""Fakes for the archiver's ports, envelopes to archive, and the `event-archiver` as a real process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from taskoverflow_shared.events import CalendarRequested, Envelope, TodoChanged, new_envelope
from tests.support.fake_sqs import FakeSqs

TODO = {"id": 3, "title": "t", "completed": False, "created_at": "x", "updated_at": "x"}


class EnvelopeFactory:
    """Fresh envelopes of the system's event types (the fixture `envelopes`)."""

    def todo_changed(self, version: int = 1) -> Envelope:
        return new_envelope(
            TodoChanged(action="updated", todo=TODO, version=version), source="todo-api", correlation_id=f"c{version}"
        )

    def calendar_requested(self, job_id: str = "job") -> Envelope:
        return new_envelope(
            CalendarRequested(job_id=job_id, todo_count=0, todos=[]), source="todo-api", correlation_id=job_id
        )


@pytest.fixture
def envelopes() -> EnvelopeFactory:
    return EnvelopeFactory()


# --- fakes -------------------------------------------------------------------------------------


@dataclass
class FakeStore:
    """Keeps objects in a dict; fails the puts whose turn (0, 1, …) is listed in `failing_puts`."""

    objects: dict[str, bytes] = field(default_factory=dict)
    failing_puts: set[int] = field(default_factory=set)
    attempts: int = 0

    def put(self, key: str, body: bytes) -> None:
        attempt, self.attempts = self.attempts, self.attempts + 1
        if attempt in self.failing_puts:
            raise ConnectionError("S3 is unreachable")
        self.objects[key] = body


@pytest.fixture
def fake_sqs() -> FakeSqs:
    return FakeSqs()


@pytest.fixture
def fake_store() -> FakeStore:
    return FakeStore()


# --- the archiver as a real process ------------------------------------------------------------


@dataclass
class ArchiverProcess:
    process: subprocess.Popen
    log_path: Path
    heartbeat: Path

    def output(self) -> str:
        with open(self.log_path) as log:
            return log.read()

    def log_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.output().splitlines() if line.startswith("{")]

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM, then the exit code; a process that ignores it fails the test."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"event-archiver ignored SIGTERM:\n{self.output()}") from None


@pytest.fixture
def archiver_process(tmp_path):
    """Start the `event-archiver` console script with the test's environment plus `env`."""
    started: list[ArchiverProcess] = []

    def start(env: dict[str, str]) -> ArchiverProcess:
        executable = shutil.which("event-archiver", path=os.path.dirname(sys.executable))
        assert executable, "the event-archiver console script is not installed (make install)"
        log_path = tmp_path / f"event-archiver-{len(started)}.log"
        heartbeat = tmp_path / f"heartbeat-{len(started)}"
        full_env = os.environ | {"HEARTBEAT_FILE": str(heartbeat)} | env
        with open(log_path, "wb") as log:
            process = subprocess.Popen([executable], env=full_env, stdout=log, stderr=subprocess.STDOUT)
        started.append(ArchiverProcess(process, log_path, heartbeat))
        return started[-1]

    yield start
    for archiver in started:
        if archiver.process.poll() is None:
            archiver.process.kill()
            archiver.process.wait()
