"""todo-api-consumer's loop: the consumer in the main thread, the sweeper beside it, one stop for both."""

from __future__ import annotations

import threading

from taskoverflow_shared.heartbeat import Liveness
from tests.support.moto import wait_until
from todo_api.domain.commands import FailOverdueCalendarJobs, ForgetFinishedCalendarJobs, ForgetOldIdempotencyKeys
from todo_api.entrypoints.calendar_job_sweeper import CalendarJobSweeper
from todo_api.entrypoints.consumer import ConsumerAndSweeper


class CountingBus:
    def __init__(self) -> None:
        self.handled: list[object] = []

    def handle(self, command: object) -> int:
        self.handled.append(command)
        return 0


class StoppedConsumer:
    """Runs until the stop, as the SQS consumer does."""

    liveness = Liveness()
    interruptible = True

    def run(self, stop: threading.Event) -> None:
        stop.wait()


def test_the_sweeper_sweeps_beside_the_consumer_and_a_stop_ends_both():
    bus = CountingBus()
    loop = ConsumerAndSweeper(StoppedConsumer(), CalendarJobSweeper(bus, interval_seconds=0.01, batch_size=10))
    stop = threading.Event()
    running = threading.Thread(target=loop.run, args=(stop,))
    running.start()

    wait_until(lambda: len(bus.handled) >= 6, timeout=5, message="two sweeps")
    stop.set()
    running.join(timeout=5)

    assert not running.is_alive()
    assert [type(command) for command in bus.handled[:3]] == [
        FailOverdueCalendarJobs,
        ForgetFinishedCalendarJobs,
        ForgetOldIdempotencyKeys,
    ]
    assert loop.liveness is StoppedConsumer.liveness and loop.interruptible


def test_a_full_batch_is_followed_by_another_until_one_comes_back_short():
    results = iter([10, 10, 3, 0, 10, 1])

    class Bus:
        def handle(self, command):
            return next(results)

    result = CalendarJobSweeper(Bus(), interval_seconds=1, batch_size=10).sweep()

    assert (result.failed, result.forgotten, result.keys_forgotten) == (23, 0, 11)


def test_a_failed_sweep_is_tried_again_at_the_next_tick():
    class DatabaseDownOnce(CountingBus):
        def handle(self, command: object) -> int:
            super().handle(command)
            if len(self.handled) == 1:
                raise ConnectionError("database unreachable")
            return 0

    bus = DatabaseDownOnce()
    stop = threading.Event()
    sweeping = threading.Thread(target=CalendarJobSweeper(bus, interval_seconds=0.01, batch_size=10).run, args=(stop,))
    sweeping.start()

    wait_until(lambda: len(bus.handled) >= 3, timeout=5, message="the sweep after the failed one")
    stop.set()
    sweeping.join(timeout=5)

    assert not sweeping.is_alive()
