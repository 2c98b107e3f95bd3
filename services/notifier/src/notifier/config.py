"""The notifier's settings, read from the environment once at start and validated together.

Every problem is reported at once, naming the variable, so a misconfigured deployment fails
fast with one readable message instead of at the first event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from notifier.adapters.retry import RetryPolicy
from notifier.adapters.smtp_mailer import SmtpEndpoint, parse_smtp_url
from notifier.domain.mail import MailSettings, is_valid_address
from notifier.domain.subscriptions import InvalidSubscriptions, Subscription, parse_subscriptions
from taskoverflow_shared.topology import load_topology

T = TypeVar("T")

DEFAULT_DELIVERY_DB = "data/notifier-deliveries.sqlite3"
DEFAULT_EMAIL_FROM = "TaskOverflow <notifier@localhost>"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(Exception):
    """The environment does not describe a runnable notifier; `problems` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid notifier configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    subscriptions: tuple[Subscription, ...]
    webhook_secret: str
    allow_private_targets: bool
    timeout_seconds: float
    retry: RetryPolicy
    retry_budget_seconds: float
    smtp: SmtpEndpoint | None
    mail: MailSettings | None
    delivery_db: Path
    delivery_retention_days: int
    # Events delivered at once: one slow or failing receiver then delays only its own events.
    concurrency: int = 8
    # Let a trickle of events gather before the next receive: one receive and one delete for
    # several events, for at most this much extra delay of a webhook.
    batching_window_seconds: float = 0.5

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Settings:
        """Read and check every NOTIFIER_* variable against the notifier queue's topology."""
        topology = load_topology()
        queue = topology.queue_for("notifier")
        visibility = queue.visibility_timeout_seconds
        retention = topology.message_retention_seconds
        reader = _Reader(env)

        try:
            subscriptions = parse_subscriptions(env.get("NOTIFIER_WEBHOOK_URLS", ""), queue.event_types or ())
        except InvalidSubscriptions as invalid:
            reader.problems.append(f"NOTIFIER_WEBHOOK_URLS: {invalid}")
            subscriptions = ()
        secret = env.get("NOTIFIER_WEBHOOK_SECRET", "")
        if subscriptions and not secret:
            reader.problems.append("NOTIFIER_WEBHOOK_SECRET is required when NOTIFIER_WEBHOOK_URLS is set")

        allow_private_targets = reader.flag("NOTIFIER_ALLOW_PRIVATE_TARGETS")
        timeout = reader.number("NOTIFIER_TIMEOUT_SECONDS", 5.0, float, minimum=0.1)
        retry = RetryPolicy(
            max_attempts=reader.number("NOTIFIER_RETRY_MAX_ATTEMPTS", 4, int, minimum=1),
            initial_backoff_seconds=reader.number("NOTIFIER_RETRY_INITIAL_BACKOFF_SECONDS", 0.5, float, minimum=0),
            max_backoff_seconds=reader.number("NOTIFIER_RETRY_MAX_BACKOFF_SECONDS", 8.0, float, minimum=0),
        )
        budget = reader.number("NOTIFIER_RETRY_BUDGET_SECONDS", 20.0, float, minimum=0)
        # An event's retries plus one last request must end well before SQS would hand the
        # message to another worker (the consumer extends visibility, but we do not lean on it).
        if budget + timeout > visibility / 2:
            reader.problems.append(
                f"NOTIFIER_RETRY_BUDGET_SECONDS + NOTIFIER_TIMEOUT_SECONDS must not exceed half the "
                f"queue's visibility timeout ({visibility} s / 2); got {budget} + {timeout}"
            )

        smtp, mail = reader.mail()
        retention_days = reader.number("NOTIFIER_DELIVERY_RETENTION_DAYS", 30, int, minimum=1)
        concurrency = reader.number("NOTIFIER_CONCURRENCY", 8, int, minimum=1)
        batching_window = reader.number("NOTIFIER_BATCHING_WINDOW_SECONDS", 0.5, float, minimum=0)
        # Forgetting a delivery SQS (or a DLQ redrive) can still bring back would send it twice.
        if retention_days * 86400 < retention:
            reader.problems.append(
                f"NOTIFIER_DELIVERY_RETENTION_DAYS must cover the queues' message retention "
                f"({retention / 86400:g} days); got {retention_days}"
            )

        if reader.problems:
            raise ConfigError(reader.problems)
        return cls(
            subscriptions=subscriptions,
            webhook_secret=secret,
            allow_private_targets=allow_private_targets,
            timeout_seconds=timeout,
            retry=retry,
            retry_budget_seconds=budget,
            smtp=smtp,
            mail=mail,
            delivery_db=Path(env.get("NOTIFIER_DELIVERY_DB") or DEFAULT_DELIVERY_DB),
            delivery_retention_days=retention_days,
            concurrency=concurrency,
            batching_window_seconds=batching_window,
        )


class _Reader:
    """Parses values and collects problems instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def number(self, name: str, default: T, parse: Callable[[str], T], *, minimum: float) -> T:
        raw = self.env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = parse(raw)
        except ValueError:
            self.problems.append(f"{name} must be a{'n integer' if parse is int else ' number'}, not {raw!r}")
            return default
        if value < minimum:  # type: ignore[operator]
            self.problems.append(f"{name} must be at least {minimum}, not {raw}")
        return value

    def flag(self, name: str) -> bool:
        raw = self.env.get(name, "").strip().lower()
        if raw not in _TRUE | _FALSE:
            self.problems.append(f"{name} must be true or false, not {raw!r}")
        return raw in _TRUE

    def mail(self) -> tuple[SmtpEndpoint | None, MailSettings | None]:
        smtp_url = self.env.get("NOTIFIER_SMTP_URL", "").strip()
        if not smtp_url:
            return None, None
        smtp = None
        try:
            smtp = parse_smtp_url(smtp_url)
        except ValueError as invalid:
            self.problems.append(f"NOTIFIER_SMTP_URL: {invalid}")
        sender = self.env.get("NOTIFIER_EMAIL_FROM", "").strip() or DEFAULT_EMAIL_FROM
        if not is_valid_address(parseaddr(sender)[1]):
            self.problems.append(f"NOTIFIER_EMAIL_FROM is not an e-mail address: {sender!r}")
        default_recipient = self.env.get("NOTIFIER_EMAIL_TO", "").strip() or None
        if default_recipient and not is_valid_address(default_recipient):
            self.problems.append(f"NOTIFIER_EMAIL_TO is not a single e-mail address: {default_recipient!r}")
        base_url = self.env.get("PUBLIC_BASE_URL", "").strip()
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # The CalendarReady mail's download link is built from it.
            self.problems.append(
                f"PUBLIC_BASE_URL must be an http(s) URL when NOTIFIER_SMTP_URL is set, not {base_url!r}"
            )
        return smtp, MailSettings(sender=sender, default_recipient=default_recipient, public_base_url=base_url)
