"""The notifier's consumer on a real moto server: duplicates, partial failures, dead letters."""

import json

from notifier.config import Settings
from notifier.entrypoints.worker import build_consumer
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.events import TodoChanged, new_envelope
from taskoverflow_shared.sqs_consumer import DEAD_LETTER_REASON_ATTRIBUTE
from tests.support.moto import wait_until
from tests.support.sqs import depth

SECRET = "whsec_bm90aWZpZXItdGVzdHMtd2ViaG9vay1rZXktMDAwMQ=="
TODO = {"id": 5, "title": "t", "completed": False, "created_at": "x", "updated_at": "x"}


def settings(tmp_path, urls, **env):
    return Settings.from_environment(
        {
            "NOTIFIER_WEBHOOK_URLS": urls,
            "NOTIFIER_WEBHOOK_SECRET": SECRET,
            "NOTIFIER_ALLOW_PRIVATE_TARGETS": "true",
            "NOTIFIER_RETRY_INITIAL_BACKOFF_SECONDS": "0.01",
            "NOTIFIER_RETRY_MAX_BACKOFF_SECONDS": "0.02",
            "NOTIFIER_DELIVERY_DB": str(tmp_path / "deliveries.sqlite3"),
            "NOTIFIER_RECEIVE_WAIT_SECONDS": "0",
        }
        | env
    )


def todo_changed_body():
    envelope = new_envelope(TodoChanged(action="created", todo=TODO, version=1), source="todo-api", correlation_id="c")
    return envelope, envelope.model_dump_json()


def handle(consumer, expected):
    """Poll until `expected` messages were handled (acknowledged)."""
    handled = []
    wait_until(lambda: handled.append(consumer.poll_once().handled) or sum(handled) >= expected, timeout=15)


def test_the_same_event_delivered_twice_by_sqs_is_posted_once_even_across_a_restart(
    topology_addresses, webhook_sink, tmp_path
):
    sqs = make_client("sqs")
    queue = topology_addresses.queues["notifier"]
    sink = webhook_sink()
    envelope, body = todo_changed_body()
    sqs.send_message(QueueUrl=queue.url, MessageBody=body)
    sqs.send_message(QueueUrl=queue.url, MessageBody=body)

    handle(build_consumer(settings(tmp_path, sink.url)), expected=2)

    assert [r.header("webhook-id") for r in sink.received] == [envelope.id]
    # A new process (new consumer, same delivery log file) still knows it was delivered.
    sqs.send_message(QueueUrl=queue.url, MessageBody=body)
    handle(build_consumer(settings(tmp_path, sink.url)), expected=1)
    assert len(sink.received) == 1
    assert sum(depth(sqs, queue.url)) == 0


def test_a_redelivered_message_retries_only_the_target_that_failed(topology_addresses, webhook_sink, tmp_path):
    sqs = make_client("sqs")
    queue = topology_addresses.queues["notifier"]
    # The message must come back quickly after the failed receive: SQS redelivers it, not us.
    sqs.set_queue_attributes(QueueUrl=queue.url, Attributes={"VisibilityTimeout": "1"})
    healthy = webhook_sink()
    flaky = webhook_sink(statuses=[500, 500])
    _, body = todo_changed_body()
    sqs.send_message(QueueUrl=queue.url, MessageBody=body)
    consumer = build_consumer(settings(tmp_path, f"{healthy.url}/a,{flaky.url}/b", NOTIFIER_RETRY_MAX_ATTEMPTS="2"))

    first = consumer.poll_once()
    assert first.failed == 1
    handle(consumer, expected=1)

    assert [r.answered for r in healthy.received] == [200]
    assert [r.answered for r in flaky.received] == [500, 500, 200]


def test_a_refused_target_dead_letters_the_event_with_the_reason(topology_addresses, webhook_sink, tmp_path):
    sqs = make_client("sqs")
    queue = topology_addresses.queues["notifier"]
    sink = webhook_sink()
    envelope, body = todo_changed_body()
    sqs.send_message(QueueUrl=queue.url, MessageBody=body)
    consumer = build_consumer(settings(tmp_path, f"{sink.url}/internal", NOTIFIER_ALLOW_PRIVATE_TARGETS="false"))

    wait_until(lambda: consumer.poll_once().dead_lettered, timeout=10, message="the dead letter")

    [dead] = sqs.receive_message(QueueUrl=queue.dlq_url, MessageAttributeNames=["All"], WaitTimeSeconds=1)["Messages"]
    assert json.loads(dead["Body"])["id"] == envelope.id
    reason = dead["MessageAttributes"][DEAD_LETTER_REASON_ATTRIBUTE]["StringValue"]
    assert "refused" in reason and "127.0.0.1 is a loopback address" in reason
    assert sink.received == []
    assert sum(depth(sqs, queue.url)) == 0
