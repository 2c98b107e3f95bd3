"""`queue-demo` against a real moto server and LocalStack, run as a person runs it: a separate process.

Each test has an emulator of its own (a reset moto server, a fresh LocalStack account), and most
make their own queues as well: a FIFO queue remembers bodies for 5 minutes.
"""

import argparse
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from taskoverflow_operations.queue_demo import (
    FIFO_DEMO_QUEUE,
    STANDARD_DEMO_QUEUE,
    build_parser,
    register,
    run,
)
from taskoverflow_shared.aws_clients import make_client
from tests.support.moto import MotoServer, free_port

QUEUE_DEMO = Path(sys.executable).parent / "queue-demo"
# Generous for a loaded machine: each command here finishes in about a second, yet sending the
# FIFO demo's 100 messages to moto took 27 s at a load average of 19 (and over 30 s once).
COMMAND_TIMEOUT = 90


def queue_demo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(QUEUE_DEMO), *args], capture_output=True, text=True, timeout=COMMAND_TIMEOUT, env=env)


def start_receiver(queue_name: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(QUEUE_DEMO), "--name", queue_name, "--receive", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(receiver: subprocess.Popen[str]) -> list[str]:
    """The receiver's printed lines once it has stopped by itself (it must exit 0)."""
    stdout, stderr = receiver.communicate(timeout=COMMAND_TIMEOUT)
    assert receiver.returncode == 0, stderr
    return stdout.splitlines()


def messages_left(sqs, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def sqs(emulator):
    return make_client("sqs")


@pytest.fixture
def standard_queue(sqs) -> tuple[str, str]:
    name = f"demo-{uuid.uuid4().hex[:12]}"
    return name, sqs.create_queue(QueueName=name)["QueueUrl"]


@pytest.fixture
def fifo_queue(sqs) -> tuple[str, str]:
    name = f"demo-{uuid.uuid4().hex[:12]}.fifo"
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    return name, sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def test_standard_queue_delivers_all_100_messages_with_the_client_name(sqs, standard_queue):
    name, url = standard_queue
    receiver = start_receiver(name, "--count", "100")

    sent = queue_demo("--name", name, "--client-name", "Client 1")

    assert sent.returncode == 0, sent.stderr
    assert "100/100" in sent.stderr  # the progress bar, kept off stdout
    lines = finish(receiver)
    # A standard queue promises no order: compare as sets, and count to catch duplicates.
    assert len(lines) == 100
    assert set(lines) == {f"Client 1: Message {number}" for number in range(100)}
    assert messages_left(sqs, url) == 0


def test_fifo_queue_delivers_the_messages_in_the_order_sent(fifo_queue):
    name, _ = fifo_queue
    receiver = start_receiver(name, "--count", "100")

    sent = queue_demo("--name", name, "--client-name", "Client 2")

    assert sent.returncode == 0, sent.stderr
    assert finish(receiver) == [f"Client 2: Message {number}" for number in range(100)]


def test_fifo_queue_drops_a_repeated_send_until_prepend_changes_the_bodies(sqs, fifo_queue):
    name, url = fifo_queue
    # Counting the queue is enough: receiving (and ordering) is the test above, and every
    # FIFO call to moto is slow enough that 200 more receives would double this test's time.
    for _ in range(2):
        assert queue_demo("--name", name).returncode == 0
    assert messages_left(sqs, url) == 100

    assert queue_demo("--name", name, "--prepend", "Again ").returncode == 0
    assert messages_left(sqs, url) == 200


@pytest.mark.parametrize("mode", [[], ["--receive"]], ids=["send", "receive"])
def test_unknown_queue_is_named_and_fails(moto_server, mode):
    missing = f"no-such-queue-{uuid.uuid4().hex[:8]}"

    result = queue_demo("--name", missing, *mode)

    assert result.returncode != 0
    assert result.stderr == f"Unable to find a Queue by this name {missing}\n"
    assert result.stdout == ""


def test_receiver_stops_after_the_idle_time(standard_queue):
    name, _ = standard_queue

    lines = finish(start_receiver(name, "--max-idle-seconds", "1"))

    assert lines == []


def test_sigterm_stops_a_waiting_receiver_cleanly(standard_queue):
    name, _ = standard_queue
    receiver = start_receiver(name)
    # It says so once it is about to poll (and handles SIGTERM); its long poll lasts 20 s.
    assert receiver.stderr.readline().startswith(f"receiving from {name}")

    receiver.send_signal(signal.SIGTERM)

    stdout, stderr = receiver.communicate(timeout=5)
    assert receiver.returncode == 0, stderr
    assert stdout == ""
    assert "received 0 messages" in stderr


def test_create_demo_queues_is_idempotent_and_dedups_the_fifo_queue_by_content(sqs):
    first, second = queue_demo("--create-demo-queues"), queue_demo("--create-demo-queues")

    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert first.stdout == second.stdout
    fifo_url = sqs.get_queue_url(QueueName=FIFO_DEMO_QUEUE)["QueueUrl"]
    fifo = sqs.get_queue_attributes(QueueUrl=fifo_url, AttributeNames=["All"])["Attributes"]
    assert (fifo["FifoQueue"], fifo["ContentBasedDeduplication"]) == ("true", "true")
    standard_url = sqs.get_queue_url(QueueName=STANDARD_DEMO_QUEUE)["QueueUrl"]
    assert "FifoQueue" not in sqs.get_queue_attributes(QueueUrl=standard_url, AttributeNames=["All"])["Attributes"]


def test_the_same_100_messages_sent_twice_to_the_fifo_demo_queue_arrive_once(sqs, emulator):
    assert queue_demo("--create-demo-queues").returncode == 0
    for _ in range(2):
        sent = queue_demo("--name", FIFO_DEMO_QUEUE, "--client-name", "Client 1")
        assert sent.returncode == 0, sent.stderr

    lines = finish(start_receiver(FIFO_DEMO_QUEUE, "--count", "100"))

    assert lines == [f"Client 1: Message {number}" for number in range(100)]
    fifo_url = sqs.get_queue_url(QueueName=FIFO_DEMO_QUEUE)["QueueUrl"]
    assert messages_left(sqs, fifo_url) == 0
    # Sent a third time, after every copy was received and deleted: SQS (LocalStack too) still
    # drops the bodies for 5 minutes; moto forgets a body once its message is deleted.
    assert queue_demo("--name", FIFO_DEMO_QUEUE, "--client-name", "Client 1").returncode == 0
    assert messages_left(sqs, fifo_url) == {"localstack": 0, "moto": 100}[emulator]


def test_create_demo_queues_waits_for_an_emulator_that_is_still_starting(moto_server):
    late_server = MotoServer(port=free_port())
    creating = subprocess.Popen(
        [str(QUEUE_DEMO), "--create-demo-queues", "--wait-seconds", str(COMMAND_TIMEOUT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "AWS_ENDPOINT_URL": late_server.url},
    )
    late_server.start()
    try:
        stdout, stderr = creating.communicate(timeout=COMMAND_TIMEOUT)
    finally:
        late_server.stop()

    assert creating.returncode == 0, stderr
    assert f"{FIFO_DEMO_QUEUE}: {late_server.url}/" in stdout


def test_taskoverflow_queue_demo_takes_the_same_options():
    taskoverflow = argparse.ArgumentParser(prog="taskoverflow")
    register(taskoverflow.add_subparsers(dest="command"))
    options = ["--name", "q.fifo", "--receive", "--count", "5", "--max-idle-seconds", "2"]

    via_taskoverflow = taskoverflow.parse_args(["queue-demo", *options])
    via_queue_demo = build_parser().parse_args(options)

    assert vars(via_taskoverflow) == {**vars(via_queue_demo), "command": "queue-demo"}
    assert via_taskoverflow.run is run
