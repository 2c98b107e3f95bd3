"""Real moto, real worker processes: start `ical-worker`, publish on the topic, read what comes out."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from taskoverflow_shared.bootstrap_topology import TopologyAddresses
from taskoverflow_shared.events import CalendarRequested, Envelope, new_envelope, parse_envelope
from taskoverflow_shared.sns_publisher import SnsPublisher
from tests.support.moto import wait_until

REPOSITORY = Path(__file__).resolve().parents[4]


def aws(service: str) -> Any:
    """A plain boto3 client for the test's own calls, kept out of the worker's AWS call counter."""
    return boto3.client(service, region_name=os.environ["AWS_REGION"])


@dataclass
class WorkerProcess:
    """One `ical-worker` console-script process and its JSON log lines."""

    process: subprocess.Popen
    log_path: Path
    stats_path: Path

    def log_events(self) -> list[dict[str, Any]]:
        lines = self.log_path.read_text().splitlines() if self.log_path.exists() else []
        # A line still being written may be cut; it is complete on the next poll.
        return [json.loads(line) for line in lines if line.startswith("{") and line.endswith("}")]

    def wait_for_log(self, event: str, *, timeout: float, **fields: Any) -> dict[str, Any]:
        def logged() -> dict[str, Any] | None:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.log_path.read_text()}")
            return next(
                (
                    line
                    for line in self.log_events()
                    if line.get("event") == event and all(line.get(k) == v for k, v in fields.items())
                ),
                None,
            )

        return wait_until(logged, timeout=timeout, interval=0.02, message=f"log event {event} {fields}")

    def stop(self, *, timeout: float = 5.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def aws_calls(self) -> dict[str, int]:
        return json.loads(self.stats_path.read_text())


@dataclass
class WorkerFactory:
    directory: Path
    started: list[WorkerProcess] = field(default_factory=list)

    def start(self, **environment: str) -> WorkerProcess:
        number = len(self.started) + 1
        log_path = self.directory / f"worker-{number}.log"
        stats_path = self.directory / f"worker-{number}-aws-calls.json"
        assert shutil.which("ical-worker", path=os.path.dirname(sys.executable)), (
            "install the package: pip install -e ./services/ical-worker"
        )
        env = {
            **os.environ,  # the moto_server fixture put AWS_ENDPOINT_URL and credentials here
            "PYTHONUNBUFFERED": "1",  # log lines must reach the file while the worker runs
            "LOG_LEVEL": "INFO",
            "ICAL_WORKER_STARTUP_WAIT_SECONDS": "10",
            # The worker's AWS calls are counted from outside (bench/aws_calls.py, a module of the repository).
            "AWS_CALL_STATS_FILE": str(stats_path),
            "PYTHONPATH": str(REPOSITORY),
            **environment,
        }
        command = [sys.executable, "-m", "bench.aws_calls", "ical-worker"]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        worker = WorkerProcess(process, log_path, stats_path)
        self.started.append(worker)
        return worker

    def kill_all(self) -> None:
        for worker in self.started:
            if worker.process.poll() is None:
                worker.process.kill()
                worker.process.wait()


@pytest.fixture
def bare_workers(moto_server: Any, tmp_path: Path) -> Iterator[WorkerFactory]:
    """Workers against an emulator in whatever state the test leaves it."""
    factory = WorkerFactory(tmp_path)
    yield factory
    factory.kill_all()


@pytest.fixture
def workers(topology_addresses: TopologyAddresses, bare_workers: WorkerFactory) -> WorkerFactory:
    """Workers against a fresh emulator holding the whole topology."""
    return bare_workers


def publish_request(addresses: TopologyAddresses, data: CalendarRequested, correlation_id: str) -> Envelope:
    """Publish on the topic as the todo-api's relay does; the subscription filter routes it."""
    envelope = new_envelope(data, source="todo-api", correlation_id=correlation_id, subject=f"calendars/{data.job_id}")
    accepted = SnsPublisher(aws("sns"), addresses.topic_arn).publish([envelope])
    assert accepted == {envelope.id}
    return envelope


def receive_events(queue_url: str, *, count: int, timeout: float) -> list[Envelope]:
    """The first `count` events to reach a queue (deleted as they are read)."""
    sqs = aws("sqs")
    received: list[Envelope] = []

    def enough() -> bool:
        response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in response.get("Messages", []):
            received.append(parse_envelope(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(received) >= count

    wait_until(enough, timeout=timeout, interval=0, message=f"{count} event(s) on {queue_url}")
    return received


def put_snapshot(addresses: TopologyAddresses, job_id: str, body: bytes, kit: Any) -> Any:
    ref = kit.snapshot_ref(body, bucket=addresses.bucket_name, key=f"snapshots/{job_id}.ndjson")
    aws("s3").put_object(Bucket=ref.bucket, Key=ref.key, Body=body, ContentType="application/x-ndjson")
    return ref


@dataclass(frozen=True)
class IntegrationKit:
    """The helpers above as one fixture (test folders are not importable packages)."""

    aws = staticmethod(aws)
    publish_request = staticmethod(publish_request)
    receive_events = staticmethod(receive_events)
    put_snapshot = staticmethod(put_snapshot)


@pytest.fixture
def io() -> IntegrationKit:
    return IntegrationKit()
