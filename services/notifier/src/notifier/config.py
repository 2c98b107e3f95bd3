"""The notifier's settings, read from the environment once at start and validated together.

Every problem is reported at once, naming the variable, so a misconfigured deployment fails
fast with one readable message instead of at the first event (taskoverflow_shared.settings).
HEARTBEAT_FILE, NOTIFIER_STARTUP_WAIT_SECONDS and NOTIFIER_RECEIVE_WAIT_SECONDS are the shared
worker runtime's (ConsumerSettings).
"""

from __future__ import annotations

import json
from email.utils import parseaddr
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from notifier.adapters.retry import RetryPolicy
from notifier.adapters.smtp_mailer import SmtpEndpoint, parse_smtp_url
from notifier.domain.mail import MailSettings
from notifier.domain.signing import InvalidSecret, check_secret
from notifier.domain.subscriptions import (
    InvalidSubscriptions,
    Subscription,
    parse_subscriptions,
    redact_url,
    webhook_event_types,
)
from taskoverflow_shared.mail_addresses import is_mail_address
from taskoverflow_shared.settings import ConsumerSettings
from taskoverflow_shared.topology import load_topology

SERVICE = "notifier"
DEFAULT_DELIVERY_DB = "data/notifier-deliveries.sqlite3"
DEFAULT_EMAIL_FROM = "TaskOverflow <notifier@localhost>"


class Settings(ConsumerSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFIER_")
    service = SERVICE

    webhook_urls: str = Field(
        "", description="comma-separated webhook URLs, each optionally `URL|Type,Type` (domain/subscriptions.py)"
    )
    webhook_secret: str = Field(
        "",
        description="[Standard Webhooks](https://www.standardwebhooks.com) secret (`whsec_` + base64 of 24 to 64 "
        "random bytes) of every URL without its own; required with URLs",
    )
    webhook_secrets: str = Field("", description='a JSON object `{"<url>": "whsec_…"}`: a secret per subscriber')
    allow_private_targets: bool = Field(
        False, description="allow loopback and private webhook targets (development only)"
    )
    timeout_seconds: float = Field(5.0, ge=0.1, description="one HTTP request or SMTP conversation")
    retry_max_attempts: int = Field(4, ge=1, description="attempts per target per receive")
    retry_initial_backoff_seconds: float = Field(0.5, ge=0, description="first backoff window (doubles, with jitter)")
    retry_max_backoff_seconds: float = Field(8.0, ge=0, description="cap of the backoff window")
    retry_budget_seconds: float = Field(
        20.0,
        ge=0,
        description="retry time per event; with `NOTIFIER_TIMEOUT_SECONDS` at most half the queue's visibility timeout",
    )
    smtp_url: str = Field("", description="`smtp://`, `smtp+starttls://user:pass@…` or `smtps://…`; empty: no e-mail")
    email_from: str = Field(DEFAULT_EMAIL_FROM, description="sender of the mails")
    email_to: str = Field("", description="recipient when the event has no `notify_email`")
    public_base_url: str = Field(
        "",
        validation_alias="PUBLIC_BASE_URL",
        description="base of the CalendarReady mail's download link; an http(s) URL, required with `NOTIFIER_SMTP_URL`",
    )
    delivery_db: Path = Field(
        Path(DEFAULT_DELIVERY_DB), description="the delivery log, SQLite (idempotency across restarts)"
    )
    delivery_retention_days: int = Field(
        30,
        ge=1,
        description="prune age of delivery records; at least the queues' message retention (14 days), so a "
        "redelivered or redriven event is never delivered twice",
    )
    # One slow or failing receiver then delays only its own events.
    concurrency: int = Field(8, ge=1, description="events of a received batch delivered at once")
    # One receive and one delete for several events of a trickle.
    batching_window_seconds: float = Field(
        0.5,
        ge=0,
        description="after a receive that did not fill a batch, wait this long before the next (fewer SQS "
        "calls per event)",
    )

    @field_validator("webhook_urls")
    @classmethod
    def _subscriptions_parse(cls, webhook_urls: str) -> str:
        try:
            parse_subscriptions(webhook_urls, webhook_event_types(load_topology().queue_for(SERVICE).event_types or ()))
        except InvalidSubscriptions as invalid:
            raise ValueError(f"NOTIFIER_WEBHOOK_URLS: {invalid}") from None
        return webhook_urls

    @field_validator("webhook_secret")
    @classmethod
    def _a_secret(cls, secret: str) -> str:
        try:
            return check_secret(secret) if secret else secret
        except InvalidSecret as invalid:
            raise ValueError(f"NOTIFIER_WEBHOOK_SECRET: {invalid}") from None

    @field_validator("webhook_secrets")
    @classmethod
    def _secrets_by_url(cls, text: str) -> str:
        for url, secret in _secrets_by_url(text).items():
            try:
                check_secret(secret)
            except InvalidSecret as invalid:
                raise ValueError(f"NOTIFIER_WEBHOOK_SECRETS: the secret of {redact_url(url)}: {invalid}") from None
        return text

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        """The rules spanning several variables, every broken one on a line of its own."""
        topology = load_topology()
        visibility = topology.queue_for(SERVICE).visibility_timeout_seconds
        retention = topology.message_retention_seconds
        problems = []
        try:
            unsigned = [s.display for s in self.subscriptions if not s.secret]
        except InvalidSubscriptions as invalid:
            problems.append(f"NOTIFIER_WEBHOOK_SECRETS: {invalid}")
            unsigned = []
        if unsigned:
            problems.append(
                "NOTIFIER_WEBHOOK_SECRET is required when NOTIFIER_WEBHOOK_URLS is set "
                f"(unless NOTIFIER_WEBHOOK_SECRETS gives every URL its own): none for {', '.join(unsigned)}"
            )
        # An event's retries plus one last request must end well before SQS would hand the
        # message to another worker (the consumer extends visibility, but we do not lean on it).
        if self.retry_budget_seconds + self.timeout_seconds > visibility / 2:
            problems.append(
                f"NOTIFIER_RETRY_BUDGET_SECONDS + NOTIFIER_TIMEOUT_SECONDS must not exceed half the "
                f"queue's visibility timeout ({visibility} s / 2); got {self.retry_budget_seconds:g} + "
                f"{self.timeout_seconds:g}"
            )
        # Forgetting a delivery SQS (or a DLQ redrive) can still bring back would send it twice.
        if self.delivery_retention_days * 86400 < retention:
            problems.append(
                f"NOTIFIER_DELIVERY_RETENTION_DAYS must cover the queues' message retention "
                f"({retention / 86400:g} days); got {self.delivery_retention_days}"
            )
        if self.smtp_url:
            problems.extend(self._mail_problems())
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _mail_problems(self) -> list[str]:
        problems = []
        try:
            parse_smtp_url(self.smtp_url)
        except ValueError as invalid:
            problems.append(f"NOTIFIER_SMTP_URL: {invalid}")
        if not is_mail_address(parseaddr(self.email_from)[1]):
            problems.append(f"NOTIFIER_EMAIL_FROM is not an e-mail address: {self.email_from!r}")
        if self.email_to and not is_mail_address(self.email_to):
            problems.append(f"NOTIFIER_EMAIL_TO is not a single e-mail address: {self.email_to!r}")
        parts = urlsplit(self.public_base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(
                f"PUBLIC_BASE_URL must be an http(s) URL when NOTIFIER_SMTP_URL is set, not {self.public_base_url!r}"
            )
        return problems

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        return parse_subscriptions(
            self.webhook_urls,
            webhook_event_types(self.queue.event_types or ()),
            default_secret=self.webhook_secret,
            secrets=_secrets_by_url(self.webhook_secrets),
        )

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.retry_max_attempts,
            initial_backoff_seconds=self.retry_initial_backoff_seconds,
            max_backoff_seconds=self.retry_max_backoff_seconds,
        )

    @property
    def smtp(self) -> SmtpEndpoint | None:
        return parse_smtp_url(self.smtp_url) if self.smtp_url else None

    @property
    def mail(self) -> MailSettings | None:
        if not self.smtp_url:
            return None
        return MailSettings(
            sender=self.email_from, default_recipient=self.email_to or None, public_base_url=self.public_base_url
        )


def _secrets_by_url(text: str) -> dict[str, str]:
    """NOTIFIER_WEBHOOK_SECRETS: a JSON object of URL => secret (empty: none)."""
    if not text.strip():
        return {}
    try:
        secrets = json.loads(text)
    except ValueError:
        secrets = None
    if not isinstance(secrets, dict) or not all(isinstance(v, str) for v in secrets.values()):
        raise ValueError('NOTIFIER_WEBHOOK_SECRETS must be a JSON object {"<url>": "whsec_...", ...}')
    return secrets
