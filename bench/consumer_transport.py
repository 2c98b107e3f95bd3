"""kombu or boto3 under the consumer loop? Measured before choosing (kombu is the chosen package).

The same 300 raw SNS-style messages are drained from a moto server queue twice in one run: by
kombu's SQS transport (SimpleQueue.get + ack) and by the shared boto3 loop (SqsConsumer.poll_once,
receive 10 + one batch delete). Prints messages/s and the ratio.
"""

from __future__ import annotations

import os
import statistics
import time

from kombu import Connection

from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.events import TodoChanged, new_envelope
from taskoverflow_shared.logging_setup import configure_logging
from taskoverflow_shared.sqs_consumer import SqsConsumer
from tests.support.moto import MotoServer

MESSAGES = 300
ROUNDS = 3
TODO = {"id": 1, "title": "t", "completed": False, "created_at": "x", "updated_at": "x"}


def fill(sqs, url: str) -> None:
    body = new_envelope(TodoChanged(action="created", todo=TODO, version=1), source="bench", correlation_id="c")
    for start in range(0, MESSAGES, 10):
        entries = [{"Id": str(i), "MessageBody": body.model_dump_json()} for i in range(start, start + 10)]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)


def drain_with_boto3(sqs, url: str, dlq_url: str, count: int = MESSAGES) -> float:
    """Seconds the shared consumer loop takes to receive and delete `count` TodoChanged messages."""
    handled: list[str] = []
    consumer = SqsConsumer(
        sqs,
        url,
        dlq_url,
        {"TodoChanged": lambda envelope, data: handled.append(envelope.id)},
        visibility_timeout_seconds=30,
        wait_time_seconds=0,
    )
    started = time.perf_counter()
    while len(handled) < count:
        consumer.poll_once()
    return time.perf_counter() - started


def drain_with_kombu(url: str, name: str, endpoint: str) -> float:
    options = {
        "region": "us-east-1",
        "predefined_queues": {name: {"url": url, "access_key_id": "testing", "secret_access_key": "testing"}},
        "wait_time_seconds": 0,
    }
    received = 0
    with Connection(f"sqs://testing:testing@{endpoint.removeprefix('http://')}", transport_options=options) as conn:
        queue = conn.SimpleQueue(name)
        started = time.perf_counter()
        while received < MESSAGES:
            message = queue.get(block=True, timeout=5)
            message.ack()
            received += 1
        elapsed = time.perf_counter() - started
        queue.close()
    return elapsed


def main() -> None:
    configure_logging("bench", "WARNING")
    server = MotoServer().start()
    os.environ.update(
        AWS_ENDPOINT_URL=server.url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION="us-east-1",
    )
    sqs = make_client("sqs")
    url = sqs.create_queue(QueueName="bench-consumer")["QueueUrl"]
    dlq_url = sqs.create_queue(QueueName="bench-consumer-dlq")["QueueUrl"]
    boto3_times, kombu_times = [], []
    try:
        for _ in range(ROUNDS):
            fill(sqs, url)
            boto3_times.append(drain_with_boto3(sqs, url, dlq_url))
            fill(sqs, url)
            kombu_times.append(drain_with_kombu(url, "bench-consumer", server.url))
    finally:
        server.stop()
    boto3_rate = MESSAGES / statistics.median(boto3_times)
    kombu_rate = MESSAGES / statistics.median(kombu_times)
    print(f"== consumer transport, {MESSAGES} messages, median of {ROUNDS} rounds")
    print(f"kombu SimpleQueue (reference): {kombu_rate:8.1f} msg/s")
    print(f"shared boto3 loop            : {boto3_rate:8.1f} msg/s")
    print(f"boto3 loop / kombu: x{boto3_rate / kombu_rate:.2f}")


if __name__ == "__main__":
    main()
