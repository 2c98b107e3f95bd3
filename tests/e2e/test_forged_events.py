"""Events only from their producers (issue 12 item 4): an event sent straight into a service's
queue from a source topology.json does not declare for its type lands in that service's DLQ
with the reason, whichever of the four services consumes it."""

from __future__ import annotations

from taskoverflow_shared.events import CalendarFailed, CalendarReady, CalendarRequested, TodoChanged, new_envelope
from taskoverflow_shared.sqs_consumer import DEAD_LETTER_REASON_ATTRIBUTE
from taskoverflow_shared.topology import load_topology
from tests.support.sqs import receive_all

TODO = {"id": 424242, "title": "forged", "completed": False, "created_at": "x", "updated_at": "x"}

# Per consuming service: an event it would handle, claiming a source that may not produce it.
FORGERIES = {
    "ical-worker": (CalendarRequested(job_id="forged-job", todo_count=0, todos=[]), "ical-worker"),
    "todo-api": (
        CalendarReady(job_id="forged-job", bucket="b", key="k", size_bytes=1, event_count=0, sha256="0" * 64),
        "todo-api",
    ),
    "notifier": (TodoChanged(action="created", todo=TODO, version=1), "somebody"),
    "event-archiver": (CalendarFailed(job_id="forged-job", reason="r"), "notifier"),
}


def test_a_forged_event_lands_in_each_consumers_dlq_with_its_reason(running_system):
    sqs = running_system.client("sqs")
    topology = load_topology()
    sent = {}
    for service, (data, source) in FORGERIES.items():
        envelope = new_envelope(data, source=source, correlation_id="forged")
        queue_url = sqs.get_queue_url(QueueName=topology.queue_for(service).name)["QueueUrl"]
        sqs.send_message(QueueUrl=queue_url, MessageBody=envelope.model_dump_json())
        sent[service] = envelope

    for service, envelope in sent.items():
        dlq_url = sqs.get_queue_url(QueueName=topology.queue_for(service).dlq_name)["QueueUrl"]
        (dead,) = receive_all(sqs, dlq_url, 1, timeout=60)  # deleted as read: the DLQ is left as it was
        assert envelope.id in dead["Body"], service
        producers = ", ".join(sorted(topology.producers_of(envelope.type)))
        assert dead["MessageAttributes"][DEAD_LETTER_REASON_ATTRIBUTE]["StringValue"] == (
            f"unexpected source {envelope.source!r} for {envelope.type}: only {producers} may produce it"
        ), service
