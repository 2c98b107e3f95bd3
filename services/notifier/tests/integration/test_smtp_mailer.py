"""The SMTP mailer against a real SMTP server (aiosmtpd in this process)."""

import dataclasses
import time

from notifier.adapters.retry import RetryPolicy
from notifier.adapters.smtp_mailer import SmtpMailer, parse_smtp_url
from notifier.domain.deliveries import Outcome
from notifier.domain.mail import Mail
from tests.support.moto import free_port

QUICK = RetryPolicy(max_attempts=3, initial_backoff_seconds=0.01, max_backoff_seconds=0.02)
MAIL = Mail(
    sender="TaskOverflow <notifier@example.com>",
    recipient="ann@example.com",
    subject="Your TaskOverflow calendar is ready",
    body="Download it here:\nhttp://localhost:6400/api/v1/todos/ical/job-1/result\n",
    message_id="<event-1@notifier.taskoverflow>",
    headers={"X-TaskOverflow-Event": "CalendarReady", "X-TaskOverflow-Delivery": "event-1"},
)


def mailer(url):
    return SmtpMailer(parse_smtp_url(url), retry=QUICK, timeout_seconds=2)


def test_a_mail_reaches_the_smtp_server_with_its_headers(smtp_sink):
    result = mailer(smtp_sink.url).send(MAIL, deadline=time.monotonic() + 10)

    assert result.outcome is Outcome.DELIVERED
    [message] = smtp_sink.messages
    assert message["To"] == "ann@example.com"
    assert message["From"] == "TaskOverflow <notifier@example.com>"
    assert message["Subject"] == "Your TaskOverflow calendar is ready"
    assert message["Message-ID"] == "<event-1@notifier.taskoverflow>"
    assert message["X-TaskOverflow-Delivery"] == "event-1"
    assert "http://localhost:6400/api/v1/todos/ical/job-1/result" in message.get_content()
    assert smtp_sink.handler.envelope_recipients == [["ann@example.com"]]


def test_a_long_link_stays_on_one_raw_line_and_non_ascii_text_survives(smtp_sink):
    link = "http://localhost:6400/api/v1/todos/ical/" + "0123456789abcdef" * 5 + "/result"
    for body in (f"Download it here:\n{link}\n", "Raison : délai dépassé\n"):
        mailer(smtp_sink.url).send(dataclasses.replace(MAIL, body=body), deadline=time.monotonic() + 10)

    long_link, accented = smtp_sink.messages
    assert link.encode() in smtp_sink.handler.raw[0]  # readable as-is in the dev sink's output
    assert link in long_link.get_content()
    assert accented.get_content().rstrip() == "Raison : délai dépassé"


def test_a_recipient_refused_with_5xx_is_a_permanent_failure_without_retry(smtp_sink):
    smtp_sink.handler.rcpt_replies = ["550 5.1.1 no such user"] * 5

    result = mailer(smtp_sink.url).send(MAIL, deadline=time.monotonic() + 10)

    assert result.outcome is Outcome.PERMANENT_FAILURE
    assert result.attempts == 1
    assert smtp_sink.messages == []


def test_a_recipient_deferred_with_4xx_is_retried(smtp_sink):
    smtp_sink.handler.rcpt_replies = ["451 4.3.0 try again later"]

    result = mailer(smtp_sink.url).send(MAIL, deadline=time.monotonic() + 10)

    assert result.outcome is Outcome.DELIVERED
    assert result.attempts == 2
    assert len(smtp_sink.messages) == 1


def test_an_unreachable_server_is_a_transient_failure():
    result = mailer(f"smtp://127.0.0.1:{free_port()}").send(MAIL, deadline=time.monotonic() + 10)

    assert result.outcome is Outcome.TRANSIENT_FAILURE
    assert result.attempts == QUICK.max_attempts
