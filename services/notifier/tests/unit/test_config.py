"""Settings from the environment: defaults, and every mistake reported at once by name."""

import json
import re
from pathlib import Path

import pytest

from notifier.config import Settings
from taskoverflow_shared.settings import SettingsError


def test_an_empty_environment_is_a_valid_notifier_that_sends_nothing():
    settings = Settings.from_environment({})

    assert settings.subscriptions == ()
    assert settings.smtp is None and settings.mail is None
    assert settings.allow_private_targets is False
    assert settings.delivery_db == Path("data/notifier-deliveries.sqlite3")
    assert settings.retry.max_attempts == 4
    assert settings.retry_budget_seconds + settings.timeout_seconds <= 30
    assert (settings.concurrency, settings.batching_window_seconds) == (8, 0.5)


def test_a_full_configuration_is_read():
    settings = Settings.from_environment(
        {
            "NOTIFIER_WEBHOOK_URLS": "https://a.example/h|CalendarReady",
            "NOTIFIER_WEBHOOK_SECRET": "whsec_" + "A" * 32,
            "NOTIFIER_ALLOW_PRIVATE_TARGETS": "true",
            "NOTIFIER_TIMEOUT_SECONDS": "2",
            "NOTIFIER_RETRY_MAX_ATTEMPTS": "3",
            "NOTIFIER_RETRY_INITIAL_BACKOFF_SECONDS": "0.01",
            "NOTIFIER_RETRY_MAX_BACKOFF_SECONDS": "0.05",
            "NOTIFIER_RETRY_BUDGET_SECONDS": "10",
            "NOTIFIER_SMTP_URL": "smtp+starttls://user:p%40ss@mail.example:2525",
            "NOTIFIER_EMAIL_FROM": "TaskOverflow <no-reply@example.com>",
            "NOTIFIER_EMAIL_TO": "ops@example.com",
            "PUBLIC_BASE_URL": "https://todo.example.com",
            "NOTIFIER_DELIVERY_DB": "/tmp/x.sqlite3",
            "NOTIFIER_DELIVERY_RETENTION_DAYS": "20",
            "NOTIFIER_CONCURRENCY": "2",
            "NOTIFIER_BATCHING_WINDOW_SECONDS": "0",
        }
    )

    assert settings.subscriptions[0].event_types == frozenset({"CalendarReady"})
    assert settings.allow_private_targets is True
    assert (settings.retry.max_attempts, settings.retry.initial_backoff_seconds) == (3, 0.01)
    assert settings.smtp.host == "mail.example" and settings.smtp.port == 2525
    assert settings.smtp.security == "starttls" and settings.smtp.password == "p@ss"
    assert settings.mail.default_recipient == "ops@example.com"
    assert settings.delivery_db == Path("/tmp/x.sqlite3")
    assert (settings.concurrency, settings.batching_window_seconds) == (2, 0)


def test_every_problem_is_reported_together_naming_its_variable():
    with pytest.raises(SettingsError) as error:
        Settings.from_environment(
            {
                "NOTIFIER_WEBHOOK_URLS": "https://a.example/h",
                "NOTIFIER_ALLOW_PRIVATE_TARGETS": "maybe",
                "NOTIFIER_RETRY_MAX_ATTEMPTS": "many",
                "NOTIFIER_RETRY_BUDGET_SECONDS": "120",
                "NOTIFIER_SMTP_URL": "smtp://user:pw@mail.example",
                "NOTIFIER_EMAIL_TO": "a@example.com, b@example.com",
                "NOTIFIER_DELIVERY_RETENTION_DAYS": "3",
                "NOTIFIER_CONCURRENCY": "0",
            }
        )

    problems = "\n".join(error.value.problems)
    for expected in (
        "NOTIFIER_WEBHOOK_SECRET is required",
        "NOTIFIER_ALLOW_PRIVATE_TARGETS must be true or false",
        "NOTIFIER_RETRY_MAX_ATTEMPTS must be an integer",
        "NOTIFIER_RETRY_BUDGET_SECONDS + NOTIFIER_TIMEOUT_SECONDS must not exceed half",
        "NOTIFIER_SMTP_URL: credentials need smtp+starttls:// or smtps://",
        "NOTIFIER_EMAIL_TO is not a single e-mail address",
        "PUBLIC_BASE_URL must be an http(s) URL",
        "NOTIFIER_DELIVERY_RETENTION_DAYS must cover",
        "NOTIFIER_CONCURRENCY must be at least 1",
    ):
        assert expected in problems
    assert len(error.value.problems) == 9
    assert str(error.value).startswith("invalid notifier configuration:")


def test_a_bad_subscription_list_is_a_configuration_error():
    with pytest.raises(SettingsError, match=r"NOTIFIER_WEBHOOK_URLS: .*CalendarRequested"):
        Settings.from_environment({"NOTIFIER_WEBHOOK_URLS": "https://a.example|CalendarRequested"})


A_SECRET = "whsec_" + "A" * 32
B_SECRET = "whsec_" + "B" * 32


def test_each_subscriber_signs_with_its_own_secret_or_else_the_default_one():
    settings = Settings.from_environment(
        {
            "NOTIFIER_WEBHOOK_URLS": "https://a.example/h,https://b.example/h",
            "NOTIFIER_WEBHOOK_SECRET": A_SECRET,
            "NOTIFIER_WEBHOOK_SECRETS": json.dumps({"https://b.example/h": B_SECRET}),
        }
    )
    assert {s.url: s.secret for s in settings.subscriptions} == {
        "https://a.example/h": A_SECRET,
        "https://b.example/h": B_SECRET,
    }
    assert B_SECRET not in repr(settings.subscriptions)


@pytest.mark.parametrize(
    ("environment", "problem"),
    [
        ({"NOTIFIER_WEBHOOK_SECRET": "plain"}, "NOTIFIER_WEBHOOK_SECRET: a webhook secret is 'whsec_'"),
        ({"NOTIFIER_WEBHOOK_SECRETS": "[1]"}, "NOTIFIER_WEBHOOK_SECRETS must be a JSON object"),
        ({"NOTIFIER_WEBHOOK_SECRETS": '{"https://a.example/h": "x"}'}, "the secret of https://a.example/h"),
        ({"NOTIFIER_WEBHOOK_SECRETS": json.dumps({"https://c.example/h": B_SECRET})}, "not among the webhook URLs"),
        ({"NOTIFIER_WEBHOOK_SECRETS": json.dumps({"https://a.example/h": B_SECRET})}, "none for https://b.example/h"),
    ],
)
def test_secrets_that_are_malformed_misplaced_or_missing_are_refused_at_start(environment, problem):
    with pytest.raises(SettingsError, match=re.escape(problem)):
        Settings.from_environment({"NOTIFIER_WEBHOOK_URLS": "https://a.example/h,https://b.example/h"} | environment)
