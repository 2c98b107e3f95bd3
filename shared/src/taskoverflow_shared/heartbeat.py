"""Liveness for workers without an HTTP port: the loop touches a file, a health check reads its age."""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Heartbeat:
    path: Path

    @classmethod
    def from_environment(cls) -> Heartbeat | None:
        path = os.environ.get("HEARTBEAT_FILE")
        return cls(Path(path)) if path else None

    def beat(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()


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
