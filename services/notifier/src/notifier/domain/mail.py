"""The e-mails the notifier sends about calendar jobs: who gets them and what they say."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from taskoverflow_shared.events import CalendarFailed, CalendarReady, Envelope

_MESSAGE_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class MailSettings:
    sender: str
    default_recipient: str | None
    public_base_url: str


@dataclass(frozen=True)
class Mail:
    """A plain-text message to one recipient, ready for any mailer."""

    sender: str
    recipient: str
    subject: str
    body: str
    # The same event always yields the same Message-ID, so if a crash makes us send a mail
    # twice, mail clients that deduplicate on it show one.
    message_id: str
    headers: dict[str, str]

    @property
    def target(self) -> str:
        """The key the delivery log records this mail under."""
        return f"mailto:{self.recipient}"


def recipient_for(notify_email: str | None, settings: MailSettings) -> str | None:
    """The event's own address wins; otherwise the configured default; None means no mail."""
    return (notify_email or "").strip() or settings.default_recipient


def calendar_download_url(public_base_url: str, job_id: str) -> str:
    return f"{public_base_url.rstrip('/')}/api/v1/todos/ical/{quote(job_id, safe='')}/result"


def calendar_ready_mail(envelope: Envelope, data: CalendarReady, recipient: str, settings: MailSettings) -> Mail:
    url = calendar_download_url(settings.public_base_url, data.job_id)
    events = "1 event" if data.event_count == 1 else f"{data.event_count} events"
    body = (
        f"Your TaskOverflow calendar is ready ({events}).\n"
        f"\n"
        f"Download it here:\n"
        f"{url}\n"
        f"\n"
        f"Job: {data.job_id}\n"
        f"Size: {data.size_bytes} bytes, SHA-256 {data.sha256}\n"
    )
    return _mail(envelope, recipient, settings, "Your TaskOverflow calendar is ready", body)


def calendar_failed_mail(envelope: Envelope, data: CalendarFailed, recipient: str, settings: MailSettings) -> Mail:
    if data.deadline_passed:
        return _calendar_late_mail(envelope, data, recipient, settings)
    body = (
        f"Sorry, your TaskOverflow calendar could not be created.\n"
        f"\n"
        f"Reason: {data.reason}\n"
        f"Job: {data.job_id}\n"
        f"\n"
        f"You can request a new calendar at any time.\n"
    )
    return _mail(envelope, recipient, settings, "Your TaskOverflow calendar could not be created", body)


def _calendar_late_mail(envelope: Envelope, data: CalendarFailed, recipient: str, settings: MailSettings) -> Mail:
    # The todo-api gave up waiting, yet the worker may still finish: its CalendarReady then makes
    # the job SUCCESS and brings a "ready" mail with a link that works. Say so, rather than
    # claim a failure the next mail would contradict.
    body = (
        f"Sorry, your TaskOverflow calendar was not ready in time.\n"
        f"\n"
        f"Reason: {data.reason}\n"
        f"Job: {data.job_id}\n"
        f"\n"
        f"It may still arrive: if it does, you will get another e-mail with the download link.\n"
        f"You can also request a new calendar at any time.\n"
    )
    return _mail(envelope, recipient, settings, "Your TaskOverflow calendar is late", body)


def _mail(envelope: Envelope, recipient: str, settings: MailSettings, subject: str, body: str) -> Mail:
    return Mail(
        sender=settings.sender,
        recipient=recipient,
        subject=subject,
        body=body,
        message_id=f"<{_MESSAGE_ID_UNSAFE.sub('-', envelope.id)}@notifier.taskoverflow>",
        headers={"X-TaskOverflow-Event": envelope.type, "X-TaskOverflow-Delivery": envelope.id},
    )
