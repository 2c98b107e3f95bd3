"""Webhook subscriptions: which URL wants which event types.

NOTIFIER_WEBHOOK_URLS is a comma-separated list. An entry `URL` receives every event the
notifier consumes; `URL|TypeA,TypeB` only those types. Because the filter is comma-separated
too, a token without `://` continues the filter of the entry before it:

    https://a.example/hook, https://b.example/hook|CalendarReady,CalendarFailed

Each subscriber signs with a secret of its own (NOTIFIER_WEBHOOK_SECRETS, URL => secret) or else
the default one (NOTIFIER_WEBHOOK_SECRET): one receiver's secret cannot forge another's webhooks.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

# Consumed only to learn which address the todo-api validated for a calendar job; never posted
# to a webhook, since it carries the requester's todos.
RECORDED_ONLY = frozenset({"CalendarRequested"})


def webhook_event_types(consumed: Collection[str]) -> tuple[str, ...]:
    """The event types a webhook may subscribe to: those the notifier consumes and delivers."""
    return tuple(event_type for event_type in consumed if event_type not in RECORDED_ONLY)


class InvalidSubscriptions(ValueError):
    """The subscription list cannot be understood; the message says which part and why."""


@dataclass(frozen=True)
class Subscription:
    url: str
    # None means every event type the notifier consumes.
    event_types: frozenset[str] | None = None
    # The subscriber's signing secret (signing.py); never in a log line or a repr.
    secret: str = field(default="", repr=False)

    def wants(self, event_type: str) -> bool:
        return self.event_types is None or event_type in self.event_types

    @property
    def display(self) -> str:
        return redact_url(self.url)


def subscribers_of(subscriptions: Sequence[Subscription], event_type: str) -> list[Subscription]:
    return [subscription for subscription in subscriptions if subscription.wants(event_type)]


def parse_subscriptions(
    text: str,
    known_event_types: Collection[str],
    *,
    default_secret: str = "",
    secrets: Mapping[str, str] | None = None,
) -> tuple[Subscription, ...]:
    """Parse NOTIFIER_WEBHOOK_URLS, each URL with its secret from `secrets` or else `default_secret`;
    raise InvalidSubscriptions naming the offending token."""
    secrets = secrets or {}
    entries: list[tuple[str, list[str] | None]] = []
    for token in (part.strip() for part in text.split(",")):
        if not token:
            continue
        if "://" in token:
            url, _, filter_text = token.partition("|")
            url = url.strip()
            _check_url(url)
            entries.append((url, [filter_text.strip()] if filter_text.strip() else None))
        elif entries and entries[-1][1] is not None:
            entries[-1][1].append(token)
        else:
            raise InvalidSubscriptions(f"{token!r} is neither a URL nor part of a `URL|EventType,...` filter")
    seen: set[str] = set()
    subscriptions = []
    for url, event_types in entries:
        if url in seen:
            raise InvalidSubscriptions(f"{redact_url(url)} is listed twice; give it one filter")
        seen.add(url)
        if event_types is not None:
            unknown = sorted(set(event_types) - set(known_event_types))
            if unknown:
                raise InvalidSubscriptions(
                    f"{redact_url(url)} filters on {', '.join(unknown)}; "
                    f"the notifier receives only {', '.join(sorted(known_event_types))}"
                )
        subscriptions.append(
            Subscription(url, None if event_types is None else frozenset(event_types), secrets.get(url, default_secret))
        )
    strangers = sorted(set(secrets) - seen)
    if strangers:
        raise InvalidSubscriptions(f"{redact_url(strangers[0])} has a secret but is not among the webhook URLs")
    return tuple(subscriptions)


def _check_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as error:
        raise InvalidSubscriptions(f"{url!r} is not a valid URL: {error}") from error
    if parts.scheme not in ("http", "https"):
        raise InvalidSubscriptions(f"{redact_url(url)}: only http and https webhooks are supported")
    if not parts.hostname:
        raise InvalidSubscriptions(f"{url!r} has no host")


def redact_url(url: str) -> str:
    """The URL without credentials or query (they often carry tokens): safe for logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
