"""`todo-api-relay`: publish outbox rows to the SNS topic until SIGTERM.

Each lane of the outbox has its own loop, so a calendar request goes out within one idle poll
even while thousands of TodoChanged rows are being published. A loop that found a full batch
goes straight on; one that did not waits `idle_wait_seconds`. While the broker is down a loop
backs off (up to a few seconds) and keeps the rows; they go out, in order, once it is back.
Its metrics: the rows it published, and the outbox lag (the oldest pending row's age).
A third thread deletes published rows past their retention, every RETENTION_EVERY_SECONDS.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Collection
from dataclasses import dataclass, field

import structlog

from taskoverflow_shared.heartbeat import Liveness
from taskoverflow_shared.metrics import process_metrics
from taskoverflow_shared.worker_runtime import Startup, run_worker
from todo_api.adapters.outbox import Lane, OutboxRelay
from todo_api.bootstrap import bootstrap, build_relay
from todo_api.config import RelaySettings

PROCESS = "todo-api-relay"
MAX_BACKOFF_SECONDS = 5.0
RETENTION_EVERY_SECONDS = 60.0

log = structlog.get_logger("todo_api.relay")


@dataclass
class RelayLoop:
    """The relay as the shared worker runtime runs it (a `Loop`): never interruptible, since it
    only ever waits on `stop.wait`, which the stop ends anyway."""

    relay: OutboxRelay
    idle_wait_seconds: float
    liveness: Liveness = field(default_factory=Liveness)
    interruptible: bool = False

    def run(self, stop: threading.Event) -> None:
        try:
            run_relay(self.relay, stop, self.idle_wait_seconds, self.liveness)
        finally:
            self.relay.close()


def run_relay(
    relay: OutboxRelay, stop: threading.Event, idle_wait_seconds: float, liveness: Liveness | None = None
) -> None:
    """Run the interactive lane and the retention in threads and the bulk lane in this one, until `stop`."""
    helpers = [
        threading.Thread(
            target=run_lane,
            args=(relay, (Lane.INTERACTIVE,), stop, idle_wait_seconds, liveness),
            name="relay-interactive",
        ),
        threading.Thread(target=run_retention, args=(relay, stop), name="relay-retention"),
    ]
    for helper in helpers:
        helper.start()
    try:
        run_lane(relay, (Lane.BULK,), stop, idle_wait_seconds, liveness)
    except BaseException:
        stop.set()  # the relay is going down: take the other threads with it
        raise
    finally:
        for helper in helpers:
            helper.join()


def run_retention(relay: OutboxRelay, stop: threading.Event, every_seconds: float = RETENTION_EVERY_SECONDS) -> None:
    """Delete published rows past their retention now and then; a failure waits for the next turn."""
    while not stop.is_set():
        try:
            relay.forget_old_published()
        except Exception as error:
            log.warning("outbox_retention_failed", error=str(error))
        stop.wait(every_seconds)


def run_lane(
    relay: OutboxRelay,
    lanes: Collection[Lane],
    stop: threading.Event,
    idle_wait_seconds: float,
    liveness: Liveness | None = None,
) -> None:
    backoff = idle_wait_seconds
    lane_names = ",".join(lane.name.lower() for lane in lanes)
    while not stop.is_set():
        if liveness is not None:
            liveness.tick()  # a round began: the heartbeat thread sees the lane is not stuck
        try:
            published = relay.relay_once(lanes) if relay.has_pending(lanes) else 0
        except Exception as error:
            log.warning("relay_publish_failed", lane=lane_names, error=str(error), retry_in_seconds=round(backoff, 2))
            stop.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            continue
        backoff = idle_wait_seconds
        if published:
            log.info("outbox_published", lane=lane_names, count=published)
            process_metrics().count("outbox_events_published", published)
        # A full batch means more may be waiting; anything less emptied the lane just now. Yet
        # a client is waiting on each interactive row, so that lane looks again at once while it
        # finds any: the requests that came in during this publish go out in the next.
        if published == 0 or (published < relay.batch_size and Lane.INTERACTIVE not in lanes):
            stop.wait(idle_wait_seconds)


def build_relay_loop(settings: RelaySettings, _startup: Startup) -> RelayLoop:
    api = bootstrap(settings)
    relay = build_relay(api)
    # Read when scraped or flushed: the relay's own loops never wait on it.
    process_metrics().track("outbox_lag", api.views.outbox_lag_seconds)
    log.info("relay_started", poll_seconds=settings.relay_poll_interval_seconds)
    return RelayLoop(relay, settings.relay_poll_interval_seconds)


def main() -> int:
    return run_worker(PROCESS, RelaySettings.from_environment, build_relay_loop)


if __name__ == "__main__":
    sys.exit(main())
