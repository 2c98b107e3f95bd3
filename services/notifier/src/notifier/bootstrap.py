"""Wire the handlers to real adapters, or to the fakes a test passes in."""

from __future__ import annotations

import functools
from datetime import timedelta

import structlog

from notifier.adapters.calendar_jobs import CalendarJobs, SqliteCalendarJobs
from notifier.adapters.delivery_log import DeliveryLog, SqliteDeliveryLog
from notifier.adapters.smtp_mailer import Mailer, SmtpMailer
from notifier.adapters.webhook_sender import HttpWebhookSender, WebhookSender
from notifier.config import Settings
from notifier.domain.address_policy import AddressPolicy
from notifier.handlers import (
    Channels,
    on_calendar_failed,
    on_calendar_ready,
    on_calendar_requested,
    on_todo_changed,
)
from taskoverflow_shared.sqs_consumer import Handler

log = structlog.get_logger("notifier.bootstrap")


def bootstrap(
    settings: Settings,
    *,
    webhooks: WebhookSender | None = None,
    mailer: Mailer | None = None,
    delivery_log: DeliveryLog | None = None,
    calendar_jobs: CalendarJobs | None = None,
) -> dict[str, Handler]:
    """The handler table `{event type: handler}` the shared SqsConsumer dispatches on."""
    if webhooks is None:
        webhooks = HttpWebhookSender(
            policy=AddressPolicy(allow_private=settings.allow_private_targets),
            retry=settings.retry,
            timeout_seconds=settings.timeout_seconds,
        )
    if mailer is None and settings.smtp is not None:
        mailer = SmtpMailer(settings.smtp, retry=settings.retry, timeout_seconds=settings.timeout_seconds)
    if delivery_log is None:
        sqlite_log = SqliteDeliveryLog(settings.delivery_db)
        pruned = sqlite_log.prune(timedelta(days=settings.delivery_retention_days))
        log.info("delivery_log_opened", path=str(settings.delivery_db), pruned=pruned)
        delivery_log = sqlite_log
    if calendar_jobs is None:
        # Beside the delivery log, kept as long: an outcome can come back (a redrive) as late.
        sqlite_jobs = SqliteCalendarJobs(settings.delivery_db)
        pruned = sqlite_jobs.prune(timedelta(days=settings.delivery_retention_days))
        log.info("calendar_jobs_opened", path=str(settings.delivery_db), pruned=pruned)
        calendar_jobs = sqlite_jobs
    channels = Channels(
        subscriptions=settings.subscriptions,
        webhooks=webhooks,
        delivery_log=delivery_log,
        calendar_jobs=calendar_jobs,
        retry_budget_seconds=settings.retry_budget_seconds,
        mailer=mailer,
        mail_settings=settings.mail if mailer is not None else None,
    )
    _warn_about(settings)
    return {
        "TodoChanged": functools.partial(on_todo_changed, channels=channels),
        "CalendarRequested": functools.partial(on_calendar_requested, channels=channels),
        "CalendarReady": functools.partial(on_calendar_ready, channels=channels),
        "CalendarFailed": functools.partial(on_calendar_failed, channels=channels),
    }


def _warn_about(settings: Settings) -> None:
    if settings.allow_private_targets:
        log.warning("private_webhook_targets_allowed", hint="for local development only")
    for subscription in settings.subscriptions:
        if subscription.url.startswith("http://"):
            # The signature protects integrity, not confidentiality: plain HTTP exposes the event.
            log.warning("webhook_target_not_https", target=subscription.display)
    log.info(
        "notifier_configured",
        webhooks=[
            f"{subscription.display}|{','.join(sorted(subscription.event_types))}"
            if subscription.event_types
            else subscription.display
            for subscription in settings.subscriptions
        ],
        email=settings.smtp is not None,
    )
