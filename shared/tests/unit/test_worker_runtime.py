"""The worker runtime every main starts with: settings, start-up wait, signals, heartbeat, exit codes."""

import os
import signal
import threading

import pytest
from botocore.exceptions import ClientError
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from taskoverflow_shared.heartbeat import Liveness
from taskoverflow_shared.settings import SettingsError, WorkerSettings
from taskoverflow_shared.topology import load_topology
from taskoverflow_shared.worker_runtime import Startup, run_until_stopped, run_worker
from tests.support.moto import wait_until


class ExampleSettings(WorkerSettings):
    model_config = SettingsConfigDict(env_prefix="EXAMPLE_")
    service = "example"

    batch_size: int = Field(10, ge=1, le=10)


class WaitingLoop:
    """A loop that works until it is stopped, finishing what it holds; it may say it only waits."""

    def __init__(self, *, interruptible: bool = False) -> None:
        self.liveness = Liveness()
        self.interruptible = interruptible
        self.running = threading.Event()
        self.finished_cleanly = False

    def run(self, stop: threading.Event) -> None:
        self.running.set()
        if self.interruptible:
            threading.Event().wait(60)  # a long poll that only a signal can cut short
        while not stop.wait(0.01):
            self.liveness.tick()
        self.finished_cleanly = True


def signal_when_running(loop: WaitingLoop, signum: int) -> threading.Thread:
    def send() -> None:
        wait_until(loop.running.is_set, timeout=10, message="the loop to run")
        os.kill(os.getpid(), signum)

    sender = threading.Thread(target=send)
    sender.start()
    return sender


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_loop_gracefully_and_restores_the_previous_handlers(signum):
    before = signal.getsignal(signum)
    loop = WaitingLoop()
    sender = signal_when_running(loop, signum)

    run_until_stopped(loop)

    sender.join()
    assert loop.finished_cleanly
    assert signal.getsignal(signum) is before


def test_a_loop_that_only_waits_is_left_at_once_on_a_signal():
    loop = WaitingLoop(interruptible=True)
    sender = signal_when_running(loop, signal.SIGTERM)

    run_until_stopped(loop)  # would wait 60 s if the signal did not cut the wait short

    sender.join()
    assert not loop.finished_cleanly


class SlowlyCreatedQueues:
    """get_queue_url as SQS answers while the bootstrap has not created the queues yet."""

    def __init__(self, missing_answers: int) -> None:
        self.missing_answers = missing_answers
        self.calls = 0

    def get_queue_url(self, *, QueueName: str) -> dict:
        self.calls += 1
        if self.calls <= self.missing_answers:
            raise ClientError({"Error": {"Code": "QueueDoesNotExist", "Message": "no"}}, "GetQueueUrl")
        return {"QueueUrl": f"https://sqs.fake/{QueueName}"}


def test_start_up_waits_for_the_queues_to_exist():
    queue = load_topology().queue_for("notifier")
    sqs = SlowlyCreatedQueues(missing_answers=2)

    urls = Startup.now(wait_seconds=30).queue_urls(sqs, queue)

    assert urls == (f"https://sqs.fake/{queue.name}", f"https://sqs.fake/{queue.dlq_name}")
    assert sqs.calls == 4


def test_start_up_gives_up_on_a_queue_that_never_appears():
    with pytest.raises(ClientError):
        Startup.now(wait_seconds=0).queue_urls(SlowlyCreatedQueues(10**6), load_topology().queue_for("notifier"))


def test_invalid_settings_exit_2_naming_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("EXAMPLE_BATCH_SIZE", "11")
    built = []

    code = run_worker("example", ExampleSettings.from_environment, lambda settings, startup: built.append(1))

    assert code == 2 and built == []
    assert "EXAMPLE_BATCH_SIZE must be between 1 and 10, not 11" in capsys.readouterr().err


def test_a_dependency_unreachable_at_start_exits_1():
    def build(settings, startup):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetQueueUrl")

    assert run_worker("example", lambda: ExampleSettings.from_environment({}), build) == 1


def test_a_worker_runs_its_loop_with_a_heartbeat_and_exits_0_when_stopped(tmp_path):
    heartbeat = tmp_path / "heartbeat"
    settings = ExampleSettings.from_environment({"HEARTBEAT_FILE": str(heartbeat), "EXAMPLE_STARTUP_WAIT_SECONDS": "5"})
    loop = WaitingLoop()
    startups = []

    def build(settings, startup):
        startups.append(startup.wait_seconds)
        return loop

    sender = signal_when_running(loop, signal.SIGTERM)
    code = run_worker("example", lambda: settings, build)

    sender.join()
    assert (code, startups, loop.finished_cleanly) == (0, [5], True)
    assert heartbeat.exists()


def test_settings_report_every_problem_at_once_each_naming_its_variable():
    with pytest.raises(SettingsError) as invalid:
        ExampleSettings.from_environment(
            {"EXAMPLE_BATCH_SIZE": "many", "EXAMPLE_STARTUP_WAIT_SECONDS": "-1", "HEARTBEAT_MAX_SILENCE_SECONDS": "0"}
        )

    assert invalid.value.problems == [
        "EXAMPLE_STARTUP_WAIT_SECONDS must be between 0 and 3600, not -1",
        "HEARTBEAT_MAX_SILENCE_SECONDS must be more than 0, not 0",
        "EXAMPLE_BATCH_SIZE must be an integer, not 'many'",
    ]
    assert str(invalid.value).startswith("invalid example configuration:")


def test_settings_take_their_defaults_and_ignore_empty_variables():
    settings = ExampleSettings.from_environment({"EXAMPLE_BATCH_SIZE": " ", "HEARTBEAT_FILE": ""})

    assert (settings.batch_size, settings.startup_wait_seconds, settings.heartbeat_file) == (10, 60, None)
