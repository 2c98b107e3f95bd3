"""Liveness for workers without an HTTP port: a thread touches a file while the loop makes progress.

The loop ticks a `Liveness` stamp on every step of its own work: each receive, each message
handled, each archive object stored. A `HeartbeatThread` touches the heartbeat file every few
seconds, but only while that stamp is fresh. A loop stuck in one handler stops ticking, the file
goes stale, and the health check (`taskoverflow-healthcheck`, the Dockerfiles' HEALTHCHECK) lets
the orchestrator replace the worker. A loop that is merely busy (a long batch, each message
slow) keeps ticking, so it is not replaced halfway through its work: a heartbeat written only
between receives could not tell it apart from a stuck one.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog

log = structlog.get_logger("taskoverflow.heartbeat")


class Liveness:
    """When the loop last showed progress; `tick` is cheap enough to call for every message."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last_tick = clock()

    def tick(self) -> None:
        # One float assignment: atomic under the GIL, so lane threads tick without a lock.
        self._last_tick = self._clock()

    def seconds_since_tick(self) -> float:
        return self._clock() - self._last_tick


@dataclass
class Heartbeat:
    """The heartbeat file; its modification time is the heartbeat."""

    path: Path

    @classmethod
    def from_environment(cls) -> Heartbeat | None:
        path = os.environ.get("HEARTBEAT_FILE")
        return cls(Path(path)) if path else None

    def beat(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()


@dataclass
class HeartbeatThread:
    """Touches `heartbeat` every `interval_seconds` while `liveness` ticked within `max_silence_seconds`."""

    heartbeat: Heartbeat
    liveness: Liveness
    max_silence_seconds: float = 30.0
    interval_seconds: float = 5.0
    _stopped: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    _withheld: bool = field(default=False, init=False)

    def start(self) -> HeartbeatThread:
        self.beat_if_alive()  # alive from the start, not only after the first interval
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()

    def beat_if_alive(self) -> bool:
        """Touch the file if the loop ticked recently enough; return whether it did."""
        silence = self.liveness.seconds_since_tick()
        if silence > self.max_silence_seconds:
            if not self._withheld:
                log.error("heartbeat_withheld", silent_seconds=round(silence, 1), limit=self.max_silence_seconds)
            self._withheld = True
            return False
        if self._withheld:
            log.info("heartbeat_resumed")
            self._withheld = False
        self.heartbeat.beat()
        return True

    def _run(self) -> None:
        while not self._stopped.wait(self.interval_seconds):
            try:
                self.beat_if_alive()
            except OSError:
                # A full or read-only disk must not end the thread: the file goes stale, which is the truth.
                log.exception("heartbeat_failed", path=str(self.heartbeat.path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Exit 0 when a worker's heartbeat file is fresh.")
    parser.add_argument("--heartbeat-file", default=os.environ.get("HEARTBEAT_FILE"), required=False)
    parser.add_argument("--max-age-seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    if not args.heartbeat_file:
        print("no heartbeat file given (--heartbeat-file or HEARTBEAT_FILE)", file=sys.stderr)
        return 2
    try:
        age = time.time() - Path(args.heartbeat_file).stat().st_mtime
    except FileNotFoundError:
        print(f"unhealthy: {args.heartbeat_file} does not exist", file=sys.stderr)
        return 1
    if age > args.max_age_seconds:
        print(f"unhealthy: last heartbeat {age:.0f}s ago", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
