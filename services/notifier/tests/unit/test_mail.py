"""The calendar e-mails: recipient choice, the download link, and addresses we refuse."""

import pytest

from notifier.domain.mail import (
    MailSettings,
    calendar_failed_mail,
    calendar_ready_mail,
    recipient_for,
)
from taskoverflow_shared.events import CalendarFailed, CalendarReady, new_envelope
from taskoverflow_shared.mail_addresses import is_mail_address

SETTINGS = MailSettings(
    sender="TaskOverflow <notifier@example.com>",
    default_recipient="team@example.com",
    public_base_url="https://todo.example.com/",
)
READY = CalendarReady(
    job_id="job-42", bucket="b", key="calendars/job-42.ics", size_bytes=1234, event_count=3, sha256="a" * 64
)


def test_the_ready_mail_says_the_calendar_is_ready_and_links_to_its_result():
    envelope = new_envelope(READY, source="ical-worker", correlation_id="c")

    mail = calendar_ready_mail(envelope, READY, "ann@example.com", SETTINGS)

    assert mail.recipient == "ann@example.com"
    assert mail.sender == SETTINGS.sender
    assert "ready" in mail.subject
    assert "https://todo.example.com/api/v1/todos/ical/job-42/result" in mail.body
    assert "3 events" in mail.body
    assert mail.message_id == f"<{envelope.id}@notifier.taskoverflow>"
    assert mail.target == "mailto:ann@example.com"


def test_the_failed_mail_gives_the_reason():
    data = CalendarFailed(job_id="job-9", reason="the snapshot could not be read")
    envelope = new_envelope(data, source="ical-worker", correlation_id="c")

    mail = calendar_failed_mail(envelope, data, "ann@example.com", SETTINGS)

    assert "could not be created" in mail.subject
    assert "Reason: the snapshot could not be read" in mail.body


def test_a_deadline_failure_mail_says_the_calendar_may_still_arrive():
    data = CalendarFailed(job_id="job-9", reason="deadline passed", deadline_passed=True)
    envelope = new_envelope(data, source="todo-api", correlation_id="c")

    mail = calendar_failed_mail(envelope, data, "ann@example.com", SETTINGS)

    assert "late" in mail.subject
    assert "Reason: deadline passed" in mail.body
    assert "It may still arrive" in mail.body
    assert "/result" not in mail.body, "no link that would answer 404 until the calendar arrives"


def test_the_events_own_address_wins_over_the_default_recipient():
    assert recipient_for("ann@example.com", SETTINGS) == "ann@example.com"
    assert recipient_for(None, SETTINGS) == "team@example.com"
    assert recipient_for("  ", SETTINGS) == "team@example.com"
    no_default = MailSettings(sender="n@example.com", default_recipient=None, public_base_url="http://x")
    assert recipient_for(None, no_default) is None


@pytest.mark.parametrize(
    "address",
    ["", "ann", "ann@", "@example.com", "ann@example.com\r\nBcc: all@example.com", "a b@example.com", "a@b@c"],
)
def test_malformed_or_header_injecting_recipients_are_invalid(address):
    assert not is_mail_address(address)


@pytest.mark.parametrize("address", ["ann@example.com", "first.last+tag@sub.example.co.uk", "x@localhost"])
def test_ordinary_addresses_are_valid(address):
    assert is_mail_address(address)
