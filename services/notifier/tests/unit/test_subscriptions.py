"""Parsing NOTIFIER_WEBHOOK_URLS: plain URLs, filtered URLs, and the mistakes it must refuse."""

import pytest

from notifier.domain.subscriptions import InvalidSubscriptions, parse_subscriptions, redact_url, subscribers_of

TYPES = ("TodoChanged", "CalendarReady", "CalendarFailed")


def test_plain_urls_receive_every_event_type():
    subscriptions = parse_subscriptions(" https://a.example/hook , http://b.example:8080/x ", TYPES)

    assert [s.url for s in subscriptions] == ["https://a.example/hook", "http://b.example:8080/x"]
    assert all(s.wants(event_type) for s in subscriptions for event_type in TYPES)


def test_a_filter_lists_event_types_and_its_commas_continue_until_the_next_url():
    subscriptions = parse_subscriptions(
        "https://a.example/hook|CalendarReady,CalendarFailed,https://b.example/hook|TodoChanged,https://c.example",
        TYPES,
    )

    assert [s.event_types for s in subscriptions] == [
        frozenset({"CalendarReady", "CalendarFailed"}),
        frozenset({"TodoChanged"}),
        None,
    ]
    assert [s.url for s in subscribers_of(subscriptions, "TodoChanged")] == [
        "https://b.example/hook",
        "https://c.example",
    ]


def test_empty_means_no_webhooks():
    assert parse_subscriptions("", TYPES) == ()
    assert parse_subscriptions(" , ", TYPES) == ()


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("https://a.example|TodoArchived", "filters on TodoArchived"),
        ("https://a.example,TodoChanged", "neither a URL nor part of"),
        ("TodoChanged", "neither a URL nor part of"),
        ("ftp://a.example/x", "only http and https"),
        ("https://a.example/x,https://a.example/x|TodoChanged", "listed twice"),
        ("https://a.example:99999/x", "not a valid URL"),
        ("https:///path-only", "has no host"),
    ],
)
def test_mistakes_are_refused_with_a_reason(text, complaint):
    with pytest.raises(InvalidSubscriptions, match=complaint):
        parse_subscriptions(text, TYPES)


def test_urls_in_logs_lose_their_credentials_and_query():
    assert redact_url("https://user:pw@hooks.example:8443/in?token=abc#f") == "https://hooks.example:8443/in"
    assert redact_url("http://[::1]:8080/x?t=1") == "http://[::1]:8080/x"
