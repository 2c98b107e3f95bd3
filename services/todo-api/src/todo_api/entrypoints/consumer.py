"""`todo-api-consumer`: follow calendar jobs by consuming CalendarReady / CalendarFailed."""

from __future__ import annotations

import sys

from taskoverflow_shared.addresses import queue_url
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.heartbeat import Heartbeat
from taskoverflow_shared.logging_setup import configure_logging
from taskoverflow_shared.sqs_consumer import SqsConsumer, run_until_signalled
from taskoverflow_shared.topology import load_topology
from todo_api.bootstrap import bootstrap
from todo_api.messagebus import MessageBus


def build_consumer(bus: MessageBus, sqs=None) -> SqsConsumer:
    sqs = sqs or make_client("sqs")
    queue = load_topology().queue_for("todo-api")
    return SqsConsumer(
        sqs,
        queue_url=queue_url(sqs, queue.name),
        dead_letter_queue_url=queue_url(sqs, queue.dlq_name),
        handlers=dict.fromkeys(bus.handled_event_types(), bus.consume),
        visibility_timeout_seconds=queue.visibility_timeout_seconds,
        heartbeat=Heartbeat.from_environment(),
    )


def main() -> int:
    configure_logging("todo-api-consumer")
    run_until_signalled(build_consumer(bootstrap().bus))
    return 0


if __name__ == "__main__":
    sys.exit(main())
