"""The outage probe: while the handlers' own dependency is down, receive nothing and probe it."""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from taskoverflow_shared.heartbeat import Liveness

# Between probes of a dependency that is down: from the first to the longest, doubling.
DEPENDENCY_PROBE_FIRST_SECONDS = 1.0
DEPENDENCY_PROBE_LONGEST_SECONDS = 30.0

log = structlog.get_logger("taskoverflow.consumer")


class DependencyUnavailable(Exception):
    """Raised by a handler whose own dependency (its database) is down: the event is fine and
    must wait, not count towards its dead-lettering. The loop stops receiving until the
    dependency answers again (`dependency_probe`), so an outage longer than the queue's redrive
    window (visibility timeout times receives) costs each message one receive, not all of them."""


def wait_for_dependency(stop: threading.Event, probe: Callable[[], object] | None, liveness: Liveness) -> None:
    """Return once `probe` passes (or `stop` is set); without a probe, after the first delay.

    Nothing is received meanwhile: the messages wait in the queue, their receive counts
    untouched. The loop is alive, so it keeps ticking its liveness.
    """
    delay = DEPENDENCY_PROBE_FIRST_SECONDS
    while not stop.wait(delay):
        liveness.tick()
        if probe is None:
            break
        try:
            probe()
            break
        except Exception as still_down:
            log.warning("dependency_still_unavailable", error=str(still_down)[:300], retry_in_seconds=delay)
            delay = min(delay * 2, DEPENDENCY_PROBE_LONGEST_SECONDS)
    if not stop.is_set():
        log.info("dependency_available")
