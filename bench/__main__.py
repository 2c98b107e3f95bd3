"""`make bench`: every benchmark, each printing its own reference measured in the same run."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = [
    "bench.consumer_transport",
    "bench.event_archive",
    "bench.outbox_publishing",
    "bench.calendar_render",
    "bench.calendar_pipeline",
]


def main(names: list[str]) -> None:
    for name in names or BENCHMARKS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as missing:
            print(f"== {name}: skipped ({missing})")
            continue
        module.main()
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
