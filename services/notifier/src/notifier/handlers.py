"""One handler per event the notifier consumes: decide who is told, then tell each of them once.

Every handler follows the same rules (see `_deliver`):
- a target already in the delivery log for this event is skipped, so a redelivered message
  reaches only the targets that did not get it the first time;
- transient failures (after the adapter's retries) raise, so SQS redelivers the message after
  its visibility timeout and, after maxReceiveCount receives, moves it to the DLQ;
- permanent failures (a 3xx/4xx answer, an address the SSRF guard refuses, an invalid e-mail
  recipient, an SMTP 5xx) raise UnprocessableEvent: the consumer dead-letters the message at
  once with the reason. Retrying cannot help, but nothing is dropped: once the receiver or the
  configuration is fixed, redriving the DLQ delivers to exactly the targets still missing.

Calendar outcomes are claims, not facts (docs/events.md): anyone able to publish to the topic can
write a CalendarReady. The notifier tells anyone about a job only if the todo-api announced it
(CalendarRequested, recorded in `calendar_jobs`), mails only the address the todo-api validated
then, whatever the outcome event names, and refuses a CalendarReady whose calendar is not the
job's own object.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import structlog

from notifier.adapters.calendar_jobs import CalendarJobs, RequestedJob
from notifier.adapters.delivery_log import DeliveryLog
from notifier.adapters.smtp_mailer import Mailer
from notifier.adapters.webhook_sender import WebhookSender
from notifier.domain.deliveries import DeliveryResult, Outcome, redact_target
from notifier.domain.mail import (
    Mail,
    MailSettings,
    calendar_failed_mail,
    calendar_ready_mail,
    recipient_for,
)
from notifier.domain.signing import signed_request
from notifier.domain.subscriptions import Subscription, subscribers_of
from taskoverflow_shared.events import (
    CalendarFailed,
    CalendarReady,
    CalendarRequested,
    Envelope,
    TodoChanged,
    UnprocessableEvent,
)
from taskoverflow_shared.mail_addresses import is_mail_address
from taskoverflow_shared.topology import Topology, load_topology

log = structlog.get_logger("notifier.handlers")


class DeliveryIncomplete(Exception):
    """Some target failed transiently; the message must come back for another try."""


class CalendarJobUnknown(Exception):
    """An outcome for a job whose CalendarRequested has not been recorded (yet).

    Normally that request is on its way, a lane beside this one: the message comes back after
    its visibility timeout and is handled then. An outcome for a job the todo-api never opened
    comes back until maxReceiveCount, then lands in the DLQ, having told nobody.
    """


@dataclass(frozen=True)
class Channels:
    """What the handlers deliver through, wired by `bootstrap()` with real or fake adapters."""

    # Each with its own signing secret.
    subscriptions: tuple[Subscription, ...]
    webhooks: WebhookSender
    delivery_log: DeliveryLog
    # The jobs the todo-api announced, with the address it validated for each.
    calendar_jobs: CalendarJobs
    # Time for all retries of one event, shared by its targets; well under the visibility timeout.
    retry_budget_seconds: float
    mailer: Mailer | None = None
    mail_settings: MailSettings | None = None
    clock: Callable[[], float] = time.monotonic
    # How long an outcome waits for its job's CalendarRequested, which SQS may hand to a lane
    # beside it at the same moment, before the message is left to come back later.
    unknown_job_grace_seconds: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    # Where the ical-worker stores each job's calendar.
    topology: Topology = field(default_factory=load_topology)


@dataclass(frozen=True)
class _Delivery:
    target: str
    channel: str
    send: Callable[[float], DeliveryResult]


def on_todo_changed(envelope: Envelope, data: TodoChanged, *, channels: Channels) -> None:
    """A todo was created, updated or deleted: POST the event to every webhook that wants it."""
    _deliver(envelope, _webhook_deliveries(envelope, channels), channels)


def on_calendar_requested(envelope: Envelope, data: CalendarRequested, *, channels: Channels) -> None:
    """The todo-api opened a calendar job: remember it and the address it validated.

    Nothing is delivered: the request carries the requester's todos, which no webhook was
    promised. Only the job's outcome is announced, and only to this address.
    """
    channels.calendar_jobs.record(RequestedJob(data.job_id, data.notify_email))
    log.info("calendar_job_recorded", job_id=data.job_id, notifies=data.notify_email is not None)


def on_calendar_ready(envelope: Envelope, data: CalendarReady, *, channels: Channels) -> None:
    """A calendar is ready: POST to subscribed webhooks, and mail the download link.

    Only for a job the todo-api announced, and only if the calendar named is that job's own
    object (anything else is dead-lettered, telling nobody). The mail goes to the address the
    todo-api validated for the job, or else to the configured default recipient; the event's
    own `notify_email` is never used.
    """
    job = _announced_job(data.job_id, channels)
    bucket, key = channels.topology.bucket_name, channels.topology.calendar_key(data.job_id)
    if (data.bucket, data.key) != (bucket, key):
        log.warning("calendar_ready_refused", job_id=data.job_id, claimed=f"s3://{data.bucket}/{data.key}")
        raise UnprocessableEvent(
            f"CalendarReady names s3://{data.bucket}/{data.key}, not job {data.job_id}'s s3://{bucket}/{key}"
        )
    mail = _mail_delivery(envelope, job.notify_email, channels, partial(calendar_ready_mail, envelope, data))
    _deliver(envelope, [*_webhook_deliveries(envelope, channels), *mail], channels)


def on_calendar_failed(envelope: Envelope, data: CalendarFailed, *, channels: Channels) -> None:
    """A calendar job failed: POST to subscribed webhooks, and mail the reason like a ready calendar,
    under the same rules: announced jobs only, to the address the todo-api validated."""
    job = _announced_job(data.job_id, channels)
    mail = _mail_delivery(envelope, job.notify_email, channels, partial(calendar_failed_mail, envelope, data))
    _deliver(envelope, [*_webhook_deliveries(envelope, channels), *mail], channels)


def _announced_job(job_id: str, channels: Channels) -> RequestedJob:
    """The job as the todo-api announced it, waiting a moment for a request still being recorded."""
    give_up_at = channels.clock() + channels.unknown_job_grace_seconds
    while (job := channels.calendar_jobs.get(job_id)) is None:
        if channels.clock() >= give_up_at:
            log.warning("calendar_job_unknown", job_id=job_id)
            raise CalendarJobUnknown(f"no CalendarRequested recorded for job {job_id}")
        channels.sleep(0.05)
    return job


def _webhook_deliveries(envelope: Envelope, channels: Channels) -> list[_Delivery]:
    deliveries = []
    for subscription in subscribers_of(channels.subscriptions, envelope.type):
        request = signed_request(envelope, subscription.url, subscription.secret)
        deliveries.append(
            _Delivery(
                target=subscription.url,
                channel="webhook",
                send=lambda deadline, request=request: channels.webhooks.send(request, deadline=deadline),
            )
        )
    return deliveries


def _mail_delivery(
    envelope: Envelope,
    notify_email: str | None,
    channels: Channels,
    compose: Callable[[str, MailSettings], Mail],
) -> list[_Delivery]:
    if channels.mailer is None or channels.mail_settings is None:
        return []
    recipient = recipient_for(notify_email, channels.mail_settings)
    if recipient is None:
        log.info("mail_skipped_no_recipient", event_type=envelope.type)
        return []
    if not is_mail_address(recipient):
        return [
            _Delivery(
                target=f"mailto:{recipient}",
                channel="email",
                send=lambda _deadline: DeliveryResult.permanent("invalid recipient address", 0),
            )
        ]
    mail = compose(recipient, channels.mail_settings)
    mailer = channels.mailer
    return [_Delivery(target=mail.target, channel="email", send=lambda deadline: mailer.send(mail, deadline=deadline))]


def _deliver(envelope: Envelope, deliveries: list[_Delivery], channels: Channels) -> None:
    deadline = channels.clock() + channels.retry_budget_seconds
    transient: list[str] = []
    permanent: list[str] = []
    for delivery in deliveries:
        target = redact_target(delivery.target)
        if channels.delivery_log.was_delivered(envelope.id, delivery.target):
            log.info("delivery_skipped_already_delivered", channel=delivery.channel, target=target)
            continue
        result = delivery.send(deadline)
        fields = {"channel": delivery.channel, "target": target, "attempts": result.attempts, "detail": result.detail}
        if result.outcome is Outcome.DELIVERED:
            channels.delivery_log.record_delivered(envelope.id, delivery.target)
            log.info("delivery_succeeded", **fields)
        elif result.outcome is Outcome.TRANSIENT_FAILURE:
            transient.append(f"{target}: {result.detail}")
            log.warning("delivery_failed_will_retry", **fields)
        else:
            permanent.append(f"{target}: {result.detail}")
            log.error("delivery_failed_permanently", **fields)
    # Transient first: the message has to come back for those targets anyway, and the
    # permanent ones get one more (cheap, bounded by maxReceiveCount) try on the way.
    if transient:
        raise DeliveryIncomplete(f"{len(transient)} target(s) to retry: {'; '.join(transient)}")
    if permanent:
        raise UnprocessableEvent(f"permanent delivery failure: {'; '.join(permanent)}")
