"""A dead-letter queue that refuses sends for 20 s (here: its maximum message size cut below the
poison's size) while poison messages arrive among real work: the poison is kept until the DLQ
takes it, the real work goes on, and nothing is lost or stuck."""

from __future__ import annotations

import time

from taskoverflow_shared.topology import load_topology
from tests.faults.invariants import assert_nothing_lost
from tests.faults.outage import Outage
from tests.faults.workload import Ledger, run_writes

POISON_COUNT = 5
POISON = "not an event " * 160  # ~2 KiB: above the refusing DLQ's limit
SQS_LARGEST_MESSAGE = 262_144


def test_a_dlq_refusing_sends_for_20_s_keeps_the_poison_until_it_can_take_it(start_faulty_system):
    system = start_faulty_system("dlq-refusal")
    sqs = system.client("sqs")
    queue = load_topology().queue_for("todo-api")
    queue_url = sqs.get_queue_url(QueueName=queue.name)["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName=queue.dlq_name)["QueueUrl"]

    def refuse():
        sqs.set_queue_attributes(QueueUrl=dlq_url, Attributes={"MaximumMessageSize": "1024"})
        for _ in range(POISON_COUNT):
            sqs.send_message(QueueUrl=queue_url, MessageBody=POISON)

    def accept():
        sqs.set_queue_attributes(QueueUrl=dlq_url, Attributes={"MaximumMessageSize": str(SQS_LARGEST_MESSAGE)})

    ledger = Ledger()
    outage = Outage(cut=refuse, restore=accept, seconds=20)
    outage.during(ledger, lambda: run_writes(system.api_url, ledger, writes=150, calendars=20), after_answers=20)
    summary = assert_nothing_lost(
        system, ledger, database_url=system.env["DATABASE_URL"], dead_letters={queue.dlq_name: POISON_COUNT}
    )

    refused = system.log("api-consumer").count("dead_letter_send_failed")
    print(f"\nDLQ refusing 20 s: idle {time.monotonic() - outage.restored_at:.1f} s after; {refused=}; {summary}")
