"""Count the AWS API calls a process makes, per `service.Operation`, without the process knowing.

    AWS_CALL_STATS_FILE=calls.{pid}.json python -m bench.aws_calls ical-worker [ARGS...]

runs an installed console script (a service's main, gunicorn …) in this interpreter with a
counter hooked into botocore: every botocore session created from then on registers it for
`before-call`, so every client any code builds is counted, and the counts are written to the
file at exit (a `{pid}` in its name keeps the processes gunicorn forks apart). Benchmarks price
a calendar job in calls this way (tests/support/system.py with `count_aws_calls`); production
code carries no counter.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
from collections import Counter
from importlib.metadata import entry_points
from typing import Any

import botocore.handlers

STATS_FILE_VARIABLE = "AWS_CALL_STATS_FILE"


class AwsCallCounter:
    """Counts API operations per `service.Operation`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()

    def count(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.calls)

    def attach(self, client: Any) -> Any:
        """Count one client's calls (in-process use, e.g. a test counting a publisher's requests)."""
        client.meta.events.register("before-call", self.count)
        return client

    def install(self) -> AwsCallCounter:
        """Count the calls of every botocore session created from now on (botocore registers
        its built-in handlers on each new session)."""
        botocore.handlers.BUILTIN_HANDLERS.append(("before-call", self.count))
        return self

    def write_on_exit(self, path: str) -> None:
        def write() -> None:
            with open(path.replace("{pid}", str(os.getpid())), "w") as stats_file:
                json.dump(self.snapshot(), stats_file)

        atexit.register(write)


def main() -> None:
    command, *arguments = sys.argv[1:]
    AwsCallCounter().install().write_on_exit(os.environ[STATS_FILE_VARIABLE])
    [script] = entry_points(group="console_scripts", name=command)
    sys.argv = [command, *arguments]
    sys.exit(script.load()())


if __name__ == "__main__":
    main()
