"""The `notifier` console script as a real process: events published on the SNS topic in moto
come out as signed webhooks and e-mails, and SIGTERM stops it cleanly (checked at teardown)."""

import os
import shutil
import subprocess
import sys

from notifier.domain.signing import verify
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.events import CalendarReady, CalendarRequested, TodoChanged, new_envelope
from taskoverflow_shared.sns_publisher import SnsPublisher
from tests.support.moto import wait_until

SECRET = "whsec_bm90aWZpZXItdGVzdHMtd2ViaG9vay1rZXktMDAwMQ=="
TODO = {"id": 11, "title": "ship the notifier", "completed": False, "created_at": "x", "updated_at": "x"}


def queue_is_empty(url):
    attributes = make_client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return attributes["ApproximateNumberOfMessages"] == attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_a_todo_change_published_on_the_topic_reaches_the_webhook_once_and_signed(
    topology_addresses, webhook_sink, notifier_process, tmp_path
):
    sink = webhook_sink()
    heartbeat = tmp_path / "heartbeat"
    notifier_process(
        {
            "NOTIFIER_WEBHOOK_URLS": f"{sink.url}/todos|TodoChanged",
            "NOTIFIER_WEBHOOK_SECRET": SECRET,
            "NOTIFIER_ALLOW_PRIVATE_TARGETS": "true",
            "HEARTBEAT_FILE": str(heartbeat),
        }
    )
    envelope = new_envelope(TodoChanged(action="created", todo=TODO, version=1), source="todo-api", correlation_id="c")

    # As the todo-api's outbox relay publishes.
    SnsPublisher(make_client("sns"), topology_addresses.topic_arn).publish([envelope])

    wait_until(lambda: sink.received, timeout=20, message="the webhook POST")
    wait_until(lambda: queue_is_empty(topology_addresses.queues["notifier"].url), timeout=10, message="the ack")
    [received] = sink.received
    assert received.path == "/todos"
    assert received.header("webhook-id") == envelope.id
    assert verify(received.body, received.headers, SECRET)
    assert received.body == envelope.model_dump_json().encode()
    assert heartbeat.exists()


def test_a_finished_calendar_is_mailed_with_its_download_link(
    topology_addresses, smtp_sink, webhook_sink, notifier_process
):
    todo_only = webhook_sink()
    notifier_process(
        {
            "NOTIFIER_SMTP_URL": smtp_sink.url,
            "NOTIFIER_EMAIL_FROM": "TaskOverflow <notifier@example.com>",
            "PUBLIC_BASE_URL": "http://localhost:6400",
            "NOTIFIER_WEBHOOK_URLS": f"{todo_only.url}|TodoChanged",
            "NOTIFIER_WEBHOOK_SECRET": SECRET,
            "NOTIFIER_ALLOW_PRIVATE_TARGETS": "true",
        }
    )
    # The todo-api announces the job with the address it validated, then the worker its calendar.
    request = CalendarRequested(job_id="job-77", todo_count=0, todos=[], notify_email="ann@example.com")
    ready = CalendarReady(
        job_id="job-77", bucket=topology_addresses.bucket_name, key="calendars/job-77.ics", size_bytes=512,
        event_count=4, sha256="f" * 64,
    )  # fmt: skip
    publisher = SnsPublisher(make_client("sns"), topology_addresses.topic_arn)

    publisher.publish([new_envelope(request, source="todo-api", correlation_id="c")])
    publisher.publish([new_envelope(ready, source="ical-worker", correlation_id="c")])

    wait_until(lambda: smtp_sink.messages, timeout=20, message="the calendar mail")
    wait_until(lambda: queue_is_empty(topology_addresses.queues["notifier"].url), timeout=10, message="the ack")
    [mail] = smtp_sink.messages
    assert mail["To"] == "ann@example.com"
    assert "ready" in mail["Subject"]
    assert "http://localhost:6400/api/v1/todos/ical/job-77/result" in mail.get_content()
    # That webhook subscribed to TodoChanged only.
    assert todo_only.received == []


def test_an_invalid_configuration_stops_it_at_once_with_a_clear_message():
    executable = shutil.which("notifier", path=os.path.dirname(sys.executable))
    environment = os.environ | {"NOTIFIER_WEBHOOK_URLS": "https://hooks.example.com/x", "NOTIFIER_WEBHOOK_SECRET": ""}

    finished = subprocess.run([executable], env=environment, capture_output=True, text=True, timeout=30)

    assert finished.returncode == 2
    assert "NOTIFIER_WEBHOOK_SECRET is required when NOTIFIER_WEBHOOK_URLS is set" in finished.stderr
