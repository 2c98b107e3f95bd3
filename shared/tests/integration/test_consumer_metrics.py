"""The consumer loop's metrics, on a real moto server and scraped as a worker serves them."""

import requests

from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.events import CalendarFailed, TodoChanged, new_envelope
from taskoverflow_shared.metrics import MetricsSettings, start_metrics
from taskoverflow_shared.sqs_consumer import SqsConsumer
from tests.support.moto import free_port, wait_until
from tests.support.prometheus import Samples, samples_of

TODO = {"id": 1, "title": "t", "completed": False, "created_at": "x", "updated_at": "x"}


def scrape(port: int) -> Samples:
    return samples_of(requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)


def consumed(samples, event_type: str, outcome: str) -> float:
    labels = frozenset({("service", "notifier"), ("event_type", event_type), ("outcome", outcome)})
    return samples.get(("taskoverflow_events_consumed_total", labels), 0.0)


def test_events_handled_failed_and_dead_lettered_are_counted_by_type(topology_addresses):
    sqs = make_client("sqs")
    queue = topology_addresses.queues["notifier"]
    changes = [
        new_envelope(TodoChanged(action="created", todo=TODO, version=1), source="t", correlation_id="c")
        for _ in range(2)
    ]
    failing = new_envelope(CalendarFailed(job_id="j", reason="r"), source="t", correlation_id="c")
    unknown = changes[0].model_copy(update={"type": "TodoArchived", "id": "another"})
    for body in [*(change.model_dump_json() for change in changes), failing.model_dump_json()]:
        sqs.send_message(QueueUrl=queue.url, MessageBody=body)
    sqs.send_message(QueueUrl=queue.url, MessageBody="{not json")
    sqs.send_message(QueueUrl=queue.url, MessageBody=unknown.model_dump_json())

    def fails(envelope, data):
        raise RuntimeError("the webhook target is down")

    port = free_port()
    export = start_metrics("notifier", MetricsSettings.from_environment({"METRICS_PORT": str(port)}))
    consumer = SqsConsumer(
        sqs,
        queue.url,
        queue.dlq_url,
        {"TodoChanged": lambda envelope, data: None, "CalendarFailed": fails},
        visibility_timeout_seconds=30,
        wait_time_seconds=0,
    )
    try:

        def all_settled():
            consumer.poll_once()
            samples = scrape(port)
            return (
                consumed(samples, "TodoChanged", "handled") == 2
                and consumed(samples, "CalendarFailed", "failed") == 1
                and consumed(samples, "other", "dead_lettered") == 2
            )

        wait_until(all_settled, timeout=20, interval=0.1, message="every message counted")
        samples = scrape(port)
    finally:
        export.stop()

    # Nothing counted twice or under another outcome: the failed message is invisible until retried.
    assert consumed(samples, "TodoChanged", "failed") == consumed(samples, "CalendarFailed", "handled") == 0
    durations = {
        dict(labels)["event_type"]: value
        for (name, labels), value in samples.items()
        if name == "taskoverflow_event_handling_duration_seconds_count"
    }
    assert durations == {"TodoChanged": 2, "CalendarFailed": 1, "other": 2}
