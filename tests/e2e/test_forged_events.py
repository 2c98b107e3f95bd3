"""Forged events against the running system.

An event sent straight into a service's queue from a source topology.json does not declare for
its type lands in that service's DLQ with the reason, whichever of the four services consumes it.

An event that does carry its producer's `source` is still only a claim (docs/events.md): a
CalendarReady published straight to the topic, naming another user's calendar or the event
archive and a stranger's address, changes no job and mails nobody.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
import requests
from aiosmtpd.controller import Controller

from taskoverflow_shared.addresses import topic_arn
from taskoverflow_shared.events import CalendarFailed, CalendarReady, CalendarRequested, TodoChanged, new_envelope
from taskoverflow_shared.sns_publisher import SnsPublisher
from taskoverflow_shared.sqs_consumer import DEAD_LETTER_REASON_ATTRIBUTE
from taskoverflow_shared.topology import load_topology
from tests.support.moto import free_port, wait_until
from tests.support.sqs import receive_all
from tests.support.system import RunningSystem

TODO = {"id": 424242, "title": "forged", "completed": False, "created_at": "x", "updated_at": "x"}

# Per consuming service: an event it would handle, claiming a source that may not produce it.
FORGERIES = {
    "ical-worker": (CalendarRequested(job_id="forged-job", todo_count=0, todos=[]), "ical-worker"),
    "todo-api": (
        CalendarReady(job_id="forged-job", bucket="b", key="k", size_bytes=1, event_count=0, sha256="0" * 64),
        "todo-api",
    ),
    "notifier": (TodoChanged(action="created", todo=TODO, version=1), "somebody"),
    "ical-feed-worker": (TodoChanged(action="updated", todo=TODO, version=99), "ical-worker"),
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


class _Inbox:
    """aiosmtpd handler keeping every recipient it is asked to deliver to."""

    def __init__(self) -> None:
        self.recipients: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        self.recipients.extend(envelope.rcpt_tos)
        return "250 Message accepted for delivery"


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[_Inbox, str]]:
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, f"smtp://127.0.0.1:{controller.port}"
    controller.stop()


@pytest.fixture(scope="module")
def system_without_worker_reports(inbox) -> Iterator[RunningSystem]:
    """The system without its outbox relay: a requested calendar stays PENDING (no worker ever
    hears of it), so only the forged CalendarReady could finish it. The notifier mails through
    the test's SMTP server and has no default recipient."""
    system = RunningSystem(
        "e2e-forged", with_relay=False, extra_env={"NOTIFIER_SMTP_URL": inbox[1], "NOTIFIER_EMAIL_TO": ""}
    ).start()
    yield system
    codes = system.stop()
    assert all(code == 0 for code in codes.values()), f"unclean shutdown: {codes}"


def test_a_forged_calendar_ready_from_the_workers_source_serves_no_one_elses_data_and_mails_nobody(
    system_without_worker_reports, inbox
):
    system = system_without_worker_reports
    topology = load_topology()
    api = f"{system.api_url}/api/v1/todos/ical"
    s3, sqs = system.client("s3"), system.client("sqs")
    # What the attacker points at: another user's stored calendar, and the archive of every event.
    targets = {
        "another user's calendar": (topology.calendar_key("job-of-another-user"), b"SUMMARY:their secret todo"),
        "the event archive": (f"{topology.event_archive_prefix}2026/12/07/00/forged.ndjson", b'{"all": "events"}'),
    }
    publisher = SnsPublisher(
        system.client("sns"),
        topic_arn(system.client("sts"), topology.topic_name, "us-east-1"),
        topology.message_type_attribute,
    )
    forged = {}
    for target, (key, body) in targets.items():
        s3.put_object(Bucket=topology.bucket_name, Key=key, Body=body)
        job_id = requests.post(api, json={}, timeout=10).json()["task_id"]
        claim = CalendarReady(
            job_id=job_id,
            bucket=topology.bucket_name,
            key=key,
            size_bytes=len(body),
            event_count=1,
            sha256=hashlib.sha256(body).hexdigest(),
            notify_email="stranger@example.com",
        )
        envelope = new_envelope(claim, source="ical-worker", correlation_id="forged")
        # Straight onto the topic, as anyone able to publish there could: every consumer gets it.
        publisher.publish([envelope])
        forged[envelope.id] = (target, job_id)

    # The todo-api refuses each with the reason, in its DLQ, where operators are alerted.
    dlq_url = sqs.get_queue_url(QueueName=topology.queue_for("todo-api").dlq_name)["QueueUrl"]
    dead = receive_all(sqs, dlq_url, len(forged), timeout=60)
    reasons = {
        next(event_id for event_id in forged if event_id in message["Body"]): message["MessageAttributes"][
            DEAD_LETTER_REASON_ATTRIBUTE
        ]["StringValue"]
        for message in dead
    }
    assert set(reasons) == set(forged)
    for event_id, (target, job_id) in forged.items():
        assert f"not job {job_id}'s" in reasons[event_id], target
        status = requests.get(f"{api}/{job_id}/status", timeout=10).json()["task_status"]
        result = requests.get(f"{api}/{job_id}/result", timeout=10)
        assert (status, result.status_code, result.json()) == ("PENDING", 404, {"error": "Task not finished"}), target

    # The notifier never heard of these jobs from the todo-api: it tells nobody about them.
    def notifier_declined_every_forgery() -> bool:
        lines = system.log("notifier").splitlines()
        declined = [line for line in lines if '"calendar_job_unknown"' in line]
        return all(any(job_id in line for line in declined) for _, job_id in forged.values())

    wait_until(notifier_declined_every_forgery, timeout=60, message="the notifier to decline the forged events")
    assert inbox[0].recipients == []
