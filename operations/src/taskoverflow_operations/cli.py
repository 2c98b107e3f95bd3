"""`taskoverflow`: the operator's one entry point: status, traces, event archive, replays, dead-letter queues
and the outbox.

Every command reads names from the shared topology and AWS settings from the environment
(`AWS_ENDPOINT_URL` for moto or LocalStack offline, nothing on AWS; `AWS_REGION`), logs JSON
lines on stdout, draws progress bars on stderr and ends with a one-line summary.
"""

from __future__ import annotations

import argparse
import sys

from taskoverflow_operations import archive_query, dlq, outbox, queue_demo, replay, trace
from taskoverflow_operations.arguments import run_command
from taskoverflow_operations.status import command as status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="taskoverflow", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (status, trace, archive_query, replay, dlq, outbox, queue_demo):
        command.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
