"""The notifier inside the whole running system (`make run`'s processes on free ports).

A todo created through the REST API reaches a subscriber as a signed TodoChanged webhook (API →
outbox → relay → SNS → notifier queue → notifier), and a calendar requested with
`notify_email` ends in an e-mail whose link downloads the calendar (API → ical-worker →
CalendarReady → notifier → SMTP).
"""

import json
from email import message_from_bytes, policy

import pytest
import requests
from aiosmtpd.controller import Controller
from cloudevents.core.bindings.http import HTTPMessage, from_http_event

from notifier.domain.signing import verify
from tests.support.moto import free_port, wait_until
from tests.support.webhook_sink import WebhookSink

SECRET = "whsec_ZTJlLW5vdGlmaWVyLXdlYmhvb2sta2V5LTAwMDAwMQ=="


class _Inbox:
    """aiosmtpd handler that keeps the raw messages it accepts."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        return "250 Message accepted for delivery"


@pytest.fixture(scope="module")
def webhook_sink():
    with WebhookSink(secret=SECRET) as sink:
        yield sink


@pytest.fixture(scope="module")
def inbox():
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, f"smtp://127.0.0.1:{controller.port}"
    controller.stop()


@pytest.fixture(scope="module")
def system(start_system, webhook_sink, inbox):
    system = start_system(
        "e2e-notifier",
        extra_env={
            "NOTIFIER_WEBHOOK_URLS": f"{webhook_sink.url}/todos|TodoChanged",
            "NOTIFIER_WEBHOOK_SECRET": SECRET,
            "NOTIFIER_ALLOW_PRIVATE_TARGETS": "true",
            "NOTIFIER_SMTP_URL": inbox[1],
        },
    )
    yield system
    codes = system.stop()
    assert all(code == 0 for code in codes.values()), f"unclean shutdown: {codes}"


def test_a_todo_created_through_the_api_reaches_the_subscriber_as_a_signed_webhook(system, webhook_sink):
    created = requests.post(f"{system.api_url}/api/v1/todos", json={"title": "tell the subscribers"}, timeout=10)
    assert created.status_code == 201
    todo = created.json()

    def deliveries_for_the_todo():
        return [r for r in webhook_sink.received if json.loads(r.body)["data"]["todo"]["id"] == todo["id"]]

    [delivery] = wait_until(deliveries_for_the_todo, timeout=30, message="the TodoChanged webhook")
    assert delivery.path == "/todos"
    assert delivery.header("X-TaskOverflow-Event") == "TodoChanged"
    # Standard Webhooks: signed with this subscriber's secret, over its id and a fresh timestamp.
    assert delivery.signature_valid and not delivery.duplicate
    assert verify(delivery.body, delivery.headers, SECRET)
    envelope = json.loads(delivery.body)
    assert envelope["id"] == delivery.header("webhook-id")
    assert envelope["data"]["action"] == "created"
    assert envelope["data"]["todo"]["title"] == "tell the subscribers"
    # A CloudEvents receiver reads it as one: structured mode, valid attributes and extensions.
    assert delivery.header("Content-Type") == "application/cloudevents+json"
    event = from_http_event(HTTPMessage(headers=delivery.headers, body=delivery.body))
    assert event.get_dataschema() == "urn:taskoverflow:events:TodoChanged:v1"
    assert event.get_extension("correlationid") == created.headers["X-Correlation-Id"]


def test_a_requested_calendar_is_mailed_with_a_link_that_downloads_it(system, inbox):
    messages, _ = inbox
    requests.post(
        f"{system.api_url}/api/v1/todos",
        json={"title": "in the calendar", "deadline_at": "2030-01-02T03:04:05"},
        timeout=10,
    ).raise_for_status()
    accepted = requests.post(
        f"{system.api_url}/api/v1/todos/ical", json={"notify_email": "ann@example.com"}, timeout=10
    )
    assert accepted.status_code == 202
    job_id = accepted.json()["task_id"]
    link = f"{system.api_url}/api/v1/todos/ical/{job_id}/result"

    def the_mail():
        parsed = [message_from_bytes(raw, policy=policy.default) for raw in messages.messages]
        return [mail for mail in parsed if link in mail.get_content()]

    [mail] = wait_until(the_mail, timeout=30, message="the calendar mail")
    assert mail["To"] == "ann@example.com"
    calendar = requests.get(link, timeout=10, allow_redirects=False)
    assert calendar.status_code == 200
    assert calendar.headers["Content-Type"].startswith("text/calendar")
    assert "SUMMARY:in the calendar" in calendar.text
