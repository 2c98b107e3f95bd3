"""Handlers with fake adapters: who is told, once, and what happens when telling fails."""

import json

import pytest

from notifier.domain.deliveries import DeliveryResult
from notifier.domain.mail import MailSettings
from notifier.domain.signing import verify
from notifier.domain.subscriptions import parse_subscriptions
from notifier.handlers import (
    CalendarJobUnknown,
    DeliveryIncomplete,
    on_calendar_failed,
    on_calendar_ready,
    on_calendar_requested,
    on_todo_changed,
)
from taskoverflow_shared.events import (
    CalendarFailed,
    CalendarReady,
    CalendarRequested,
    TodoChanged,
    UnprocessableEvent,
    new_envelope,
)
from taskoverflow_shared.topology import load_topology

SECRET = "whsec_bm90aWZpZXItdGVzdHMtd2ViaG9vay1rZXktMDAwMQ=="
TYPES = ("TodoChanged", "CalendarReady", "CalendarFailed")
TODO = {"id": 1, "title": "t", "completed": False, "created_at": "x", "updated_at": "x"}
MAIL = MailSettings(
    sender="n@example.com", default_recipient="team@example.com", public_base_url="http://localhost:6400"
)


def todo_changed():
    data = TodoChanged(action="updated", todo=TODO, version=2)
    return new_envelope(data, source="todo-api", correlation_id="corr-1"), data


TOPOLOGY = load_topology()


def calendar_ready(notify_email=None, job_id="job-1", **claims):
    """The worker's CalendarReady for `job_id`; `claims` override its bucket or key."""
    location = {"bucket": TOPOLOGY.bucket_name, "key": TOPOLOGY.calendar_key(job_id)} | claims
    data = CalendarReady(
        job_id=job_id, size_bytes=10, event_count=1, sha256="0" * 64, notify_email=notify_email, **location
    )
    return new_envelope(data, source="ical-worker", correlation_id="corr-2"), data


def requested(channels, notify_email=None, job_id="job-1"):
    """The todo-api's CalendarRequested for `job_id`, with the address it validated, handled."""
    data = CalendarRequested(job_id=job_id, todo_count=0, todos=[], notify_email=notify_email)
    on_calendar_requested(new_envelope(data, source="todo-api", correlation_id="corr-2"), data, channels=channels)


def subscriptions(text):
    return parse_subscriptions(text, TYPES, default_secret=SECRET)


def test_todo_changed_is_posted_signed_only_to_the_webhooks_that_want_it(make_channels, fake_webhooks):
    channels = make_channels(
        subscriptions=subscriptions(
            "https://all.example,https://cal.example|CalendarReady,https://todo.example|TodoChanged"
        )
    )
    envelope, data = todo_changed()

    on_todo_changed(envelope, data, channels=channels)

    assert fake_webhooks.urls() == ["https://all.example", "https://todo.example"]
    for request in fake_webhooks.sent:
        assert json.loads(request.body)["id"] == envelope.id
        assert verify(request.body, request.headers, SECRET)


def test_a_redelivered_event_is_not_posted_again(make_channels, fake_webhooks):
    channels = make_channels(subscriptions=subscriptions("https://a.example,https://b.example"))
    envelope, data = todo_changed()

    on_todo_changed(envelope, data, channels=channels)
    on_todo_changed(envelope, data, channels=channels)

    assert fake_webhooks.urls() == ["https://a.example", "https://b.example"]


def test_when_one_of_two_targets_fails_the_redelivery_retries_only_that_one(make_channels, fake_webhooks):
    fake_webhooks.scripts["https://b.example"] = [DeliveryResult.transient("HTTP 503", 4)]
    channels = make_channels(subscriptions=subscriptions("https://a.example,https://b.example"))
    envelope, data = todo_changed()

    with pytest.raises(DeliveryIncomplete, match=r"b\.example: HTTP 503"):
        on_todo_changed(envelope, data, channels=channels)
    on_todo_changed(envelope, data, channels=channels)

    assert fake_webhooks.urls() == ["https://a.example", "https://b.example", "https://b.example"]


def test_a_permanent_failure_dead_letters_the_event_with_the_reason(make_channels, fake_webhooks, delivery_log):
    fake_webhooks.scripts["https://inside.example/x?token=t"] = [
        DeliveryResult.permanent("refused: inside.example: 10.0.0.1 is a private address", 1)
    ]
    channels = make_channels(subscriptions=subscriptions("https://inside.example/x?token=t,https://ok.example"))
    envelope, data = todo_changed()

    with pytest.raises(UnprocessableEvent) as dead:
        on_todo_changed(envelope, data, channels=channels)

    assert dead.value.reason == (
        "permanent delivery failure: https://inside.example/x: refused: inside.example: 10.0.0.1 is a private address"
    )
    # The healthy target got its POST and is recorded, so a DLQ redrive will not repeat it.
    assert delivery_log.delivered == {(envelope.id, "https://ok.example")}


def test_transient_failures_win_over_permanent_ones_so_the_message_comes_back(make_channels, fake_webhooks):
    fake_webhooks.scripts["https://gone.example"] = [DeliveryResult.permanent("HTTP 410", 1)]
    fake_webhooks.scripts["https://down.example"] = [DeliveryResult.transient("ReadTimeout", 4)]
    channels = make_channels(subscriptions=subscriptions("https://gone.example,https://down.example"))
    envelope, data = todo_changed()

    with pytest.raises(DeliveryIncomplete):
        on_todo_changed(envelope, data, channels=channels)


def test_calendar_ready_mails_the_download_link_to_the_requester(make_channels, fake_mailer):
    channels = make_channels(mail_settings=MAIL)
    requested(channels, notify_email="ann@example.com")
    envelope, data = calendar_ready()

    on_calendar_ready(envelope, data, channels=channels)

    [mail] = fake_mailer.sent
    assert mail.recipient == "ann@example.com"
    assert "http://localhost:6400/api/v1/todos/ical/job-1/result" in mail.body


def test_calendar_mail_goes_to_the_default_recipient_when_the_request_named_none(make_channels, fake_mailer):
    channels = make_channels(mail_settings=MAIL)
    requested(channels)
    envelope, data = calendar_ready()

    on_calendar_ready(envelope, data, channels=channels)

    assert [mail.recipient for mail in fake_mailer.sent] == ["team@example.com"]


def test_no_recipient_at_all_means_no_mail(make_channels, fake_mailer):
    channels = make_channels(mail_settings=MailSettings("n@example.com", None, "http://x"))
    requested(channels)
    envelope, data = calendar_ready(notify_email="stranger@example.com")

    on_calendar_ready(envelope, data, channels=channels)

    assert fake_mailer.sent == []


def test_a_mail_is_sent_once_per_event_and_recipient_even_if_the_webhook_failed(
    make_channels, fake_mailer, fake_webhooks
):
    fake_webhooks.scripts["https://a.example"] = [DeliveryResult.transient("HTTP 502", 4)]
    channels = make_channels(mail_settings=MAIL, subscriptions=subscriptions("https://a.example"))
    requested(channels, notify_email="ann@example.com")
    envelope, data = calendar_ready()

    with pytest.raises(DeliveryIncomplete):
        on_calendar_ready(envelope, data, channels=channels)
    on_calendar_ready(envelope, data, channels=channels)

    assert len(fake_mailer.sent) == 1
    assert fake_webhooks.urls() == ["https://a.example", "https://a.example"]


def test_an_invalid_notify_email_is_never_sent_and_dead_letters(make_channels, fake_mailer):
    channels = make_channels(mail_settings=MAIL)
    requested(channels, notify_email="ann@example.com\r\nBcc: everyone@example.com")
    envelope, data = calendar_ready()

    with pytest.raises(UnprocessableEvent, match="invalid recipient address"):
        on_calendar_ready(envelope, data, channels=channels)

    assert fake_mailer.sent == []


def test_calendar_failed_mails_the_reason(make_channels, fake_mailer):
    channels = make_channels(mail_settings=MAIL)
    requested(channels, notify_email="ann@example.com", job_id="job-2")
    data = CalendarFailed(job_id="job-2", reason="too many todos")
    envelope = new_envelope(data, source="ical-worker", correlation_id="c")

    on_calendar_failed(envelope, data, channels=channels)

    [mail] = fake_mailer.sent
    assert "too many todos" in mail.body


def test_every_target_of_an_event_shares_one_retry_deadline(make_channels, fake_webhooks):
    deadlines = []
    fake_send = fake_webhooks.send

    def send(request, *, deadline):
        deadlines.append(deadline)
        return fake_send(request, deadline=deadline)

    fake_webhooks.send = send
    channels = make_channels(subscriptions=subscriptions("https://a.example,https://b.example"), clock=lambda: 100.0)
    envelope, data = todo_changed()

    on_todo_changed(envelope, data, channels=channels)

    assert deadlines == [105.0, 105.0]


# --- forged outcomes: a CalendarReady or CalendarFailed only claims whom to tell -------------------


def test_a_calendar_ready_for_a_job_the_todo_api_never_announced_tells_nobody(
    make_channels, fake_mailer, fake_webhooks
):
    channels = make_channels(mail_settings=MAIL, subscriptions=subscriptions("https://all.example"))
    envelope, data = calendar_ready(notify_email="stranger@example.com", job_id="forged-job")

    with pytest.raises(CalendarJobUnknown):
        on_calendar_ready(envelope, data, channels=channels)

    assert (fake_mailer.sent, fake_webhooks.sent) == ([], [])


def test_a_calendar_ready_naming_a_stranger_mails_only_the_address_the_todo_api_validated(make_channels, fake_mailer):
    channels = make_channels(mail_settings=MAIL)
    requested(channels, notify_email="ann@example.com")
    envelope, data = calendar_ready(notify_email="stranger@example.com")

    on_calendar_ready(envelope, data, channels=channels)

    assert [mail.recipient for mail in fake_mailer.sent] == ["ann@example.com"]


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"key": "calendars/another-users-job.ics"}, id="another job's calendar"),
        pytest.param({"key": "event-archive/2026/12/07/00/archive.ndjson"}, id="the event archive"),
        pytest.param({"bucket": "someone-elses-bucket"}, id="another bucket"),
    ],
)
def test_a_calendar_ready_naming_another_object_than_the_jobs_own_tells_nobody_and_dead_letters(
    make_channels, fake_mailer, fake_webhooks, claims
):
    channels = make_channels(mail_settings=MAIL, subscriptions=subscriptions("https://all.example"))
    requested(channels, notify_email="ann@example.com")
    envelope, data = calendar_ready(**claims)

    with pytest.raises(UnprocessableEvent, match="not job job-1's"):
        on_calendar_ready(envelope, data, channels=channels)

    assert (fake_mailer.sent, fake_webhooks.sent) == ([], [])


def test_a_calendar_failed_for_an_unknown_job_tells_nobody(make_channels, fake_mailer):
    channels = make_channels(mail_settings=MAIL)
    data = CalendarFailed(job_id="forged-job", reason="r", notify_email="stranger@example.com")

    with pytest.raises(CalendarJobUnknown):
        on_calendar_failed(new_envelope(data, source="todo-api", correlation_id="c"), data, channels=channels)

    assert fake_mailer.sent == []


def test_a_second_calendar_requested_for_a_job_does_not_change_its_address(make_channels, fake_mailer):
    channels = make_channels(mail_settings=MAIL)
    requested(channels, notify_email="ann@example.com")
    requested(channels, notify_email="stranger@example.com")
    envelope, data = calendar_ready()

    on_calendar_ready(envelope, data, channels=channels)

    assert [mail.recipient for mail in fake_mailer.sent] == ["ann@example.com"]


def test_a_calendar_requested_is_recorded_and_posted_to_no_webhook(make_channels, fake_webhooks, calendar_jobs):
    channels = make_channels(subscriptions=subscriptions("https://all.example"))

    requested(channels, notify_email="ann@example.com")

    assert calendar_jobs.get("job-1").notify_email == "ann@example.com"
    assert fake_webhooks.sent == []


def test_an_outcome_waits_a_moment_for_its_request_being_recorded_beside_it(make_channels, fake_mailer):
    now = [0.0]

    def sleep(seconds):
        # The request's lane records the job while this one waits.
        requested(channels, notify_email="ann@example.com")
        now[0] += seconds

    channels = make_channels(mail_settings=MAIL, unknown_job_grace_seconds=1.0, clock=lambda: now[0], sleep=sleep)
    envelope, data = calendar_ready()

    on_calendar_ready(envelope, data, channels=channels)

    assert [mail.recipient for mail in fake_mailer.sent] == ["ann@example.com"]
