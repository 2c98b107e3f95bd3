"""The heartbeat proves the loop is alive: it beats while the loop ticks, and stops when the loop is stuck.

A heartbeat written only between receives would make a notifier batch of ten slow webhooks
(10 x 25 s while a receiver is down) look like a dead worker, and ECS would replace the task in
the middle of its work. The heartbeat follows the loop's own ticks instead.
"""

from taskoverflow_shared.events import TodoChanged, new_envelope
from taskoverflow_shared.heartbeat import Heartbeat, HeartbeatThread, Liveness
from taskoverflow_shared.heartbeat import main as healthcheck
from taskoverflow_shared.sqs_consumer import SqsConsumer
from tests.support.fake_sqs import FakeSqs
from tests.support.moto import wait_until

TODO = {"id": 1, "title": "t", "completed": False, "created_at": "x", "updated_at": "x"}
MAX_SILENCE = 30.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def todo_changed(version: int) -> str:
    return new_envelope(
        TodoChanged(action="updated", todo=TODO, version=version), source="t", correlation_id="c"
    ).model_dump_json()


def watched_consumer(tmp_path, handler, clock):
    """A consumer on a fake queue, and the heartbeat thread's check, both on `clock`."""
    sqs = FakeSqs()
    liveness = Liveness(clock)
    consumer = SqsConsumer(
        sqs, sqs.queue_url, sqs.dead_letter_queue_url, {"TodoChanged": handler}, 60, liveness=liveness
    )
    heartbeat = HeartbeatThread(Heartbeat(tmp_path / "heartbeat"), liveness, max_silence_seconds=MAX_SILENCE)
    return sqs, consumer, heartbeat


def test_a_batch_of_slow_messages_keeps_the_heartbeat_beating_throughout(tmp_path):
    clock = FakeClock()
    beats_during_the_batch = []

    def slow_webhook(envelope, data):
        clock.now += 25  # each event: the notifier's whole retry budget against a receiver that is down
        beats_during_the_batch.append(heartbeat.beat_if_alive())  # the thread looks at the worst moment

    sqs, consumer, heartbeat = watched_consumer(tmp_path, slow_webhook, clock)
    for version in range(1, 11):
        sqs.send(todo_changed(version))

    result = consumer.poll_once()

    assert result.handled == 10  # 250 s of work in one batch, far beyond the silence limit
    assert beats_during_the_batch == [True] * 10
    assert heartbeat.heartbeat.path.exists()


def test_a_loop_stuck_in_one_handler_lets_the_heartbeat_go_stale(tmp_path):
    clock = FakeClock()
    beats_while_stuck = []

    def stuck(envelope, data):
        clock.now += MAX_SILENCE + 1
        beats_while_stuck.append(heartbeat.beat_if_alive())

    sqs, consumer, heartbeat = watched_consumer(tmp_path, stuck, clock)
    sqs.send(todo_changed(1))

    consumer.poll_once()

    assert beats_while_stuck == [False]
    assert not heartbeat.heartbeat.path.exists()
    # Once the loop moves again, so does the heartbeat.
    assert heartbeat.beat_if_alive()


def test_the_thread_stops_touching_the_file_once_the_loop_stops_ticking_and_the_health_check_says_so(tmp_path):
    liveness = Liveness()
    path = tmp_path / "heartbeat"
    thread = HeartbeatThread(Heartbeat(path), liveness, max_silence_seconds=0.2, interval_seconds=0.01).start()
    try:
        assert healthcheck(["--heartbeat-file", str(path), "--max-age-seconds", "60"]) == 0
        # Nothing ticks from now on: a stuck loop.
        wait_until(lambda: thread._withheld, timeout=10, interval=0.01, message="the heartbeat to be withheld")
        stale_since = path.stat().st_mtime_ns
        wait_until(lambda: not thread.beat_if_alive(), timeout=1, message="another withheld beat")
        assert path.stat().st_mtime_ns == stale_since
        assert healthcheck(["--heartbeat-file", str(path), "--max-age-seconds", "0"]) == 1
    finally:
        thread.stop()


def test_the_health_check_fails_without_a_heartbeat_file(tmp_path):
    assert healthcheck(["--heartbeat-file", str(tmp_path / "missing")]) == 1
