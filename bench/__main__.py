"""`make bench`: every benchmark, each printing its own reference measured in the same run."""

from __future__ import annotations

import importlib
import sys
import traceback

BENCHMARKS = [
    "bench.consumer_transport",
    "bench.event_archive",
    "bench.outbox_publishing",
    "bench.idempotency_keys",
    "bench.calendar_render",
    "bench.calendar_pipeline",
    "bench.pipeline_comparison",
    "bench.api_serving",
]


def main(names: list[str]) -> int:
    """Run each benchmark; one that fails (a drain deadline on a loaded machine) does not stop the others."""
    failed = []
    for name in names or BENCHMARKS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as missing:
            print(f"== {name}: skipped ({missing})")
            continue
        try:
            module.main()
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print()
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
