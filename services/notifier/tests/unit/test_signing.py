"""Standard Webhooks signatures and the signed request the notifier sends."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from notifier.domain.signing import InvalidSecret, check_secret, sign, signed_request, verify
from taskoverflow_shared.events import TodoChanged, new_envelope

TODO = {"id": 7, "title": "write tests", "completed": False, "created_at": "x", "updated_at": "x"}
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_SECRET = "whsec_" + "B" * 32


def test_signature_matches_the_specifications_published_test_vector():
    # The example of the Standard Webhooks specification and its reference libraries.
    signed_at = datetime.fromtimestamp(1614265330, UTC)
    assert (
        sign("msg_p5jXN8AQM9LWM0D4loKWxJek", signed_at, b'{"test": 2432232314}', SECRET)
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def envelope():
    return new_envelope(TodoChanged(action="created", todo=TODO, version=1), source="todo-api", correlation_id="c")


def test_signed_request_posts_the_cloudevent_with_the_standard_webhook_headers():
    event = envelope()
    now = datetime(2030, 1, 2, 3, 4, 5, 678, tzinfo=UTC)

    request = signed_request(event, "https://hooks.example.com/x", SECRET, now=now)

    assert json.loads(request.body) == json.loads(event.model_dump_json())
    assert request.headers["Content-Type"] == "application/cloudevents+json"
    assert request.headers["X-TaskOverflow-Event"] == "TodoChanged"
    assert request.headers["webhook-id"] == event.id
    assert request.headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert request.headers["webhook-signature"] == sign(event.id, now, request.body, SECRET)


def test_a_receiver_accepts_the_right_secret_and_refuses_another_a_changed_body_or_an_old_timestamp():
    request = signed_request(envelope(), "https://a.example", SECRET)
    assert verify(request.body, request.headers, SECRET)
    assert not verify(request.body, request.headers, OTHER_SECRET)
    assert not verify(request.body.replace(b"write", b"skip!"), request.headers, SECRET)
    replayed = signed_request(envelope(), "https://a.example", SECRET, now=datetime.now(UTC) - timedelta(minutes=6))
    assert not verify(replayed.body, replayed.headers, SECRET)
    assert not verify(request.body, request.headers | {"webhook-signature": "garbage"}, SECRET)
    assert not verify(request.body, {"webhook-id": "x"}, SECRET)


def test_the_same_envelope_signed_at_the_same_second_yields_the_same_request_so_retries_match():
    event, now = envelope(), datetime.now(UTC)
    assert signed_request(event, "https://a.example", SECRET, now) == signed_request(
        event, "https://a.example", SECRET, now
    )


@pytest.mark.parametrize(
    "secret", ["", "s3cret", "whsec_", "whsec_not base64!", "whsec_" + "A" * 8, "whsec_" + "A" * 100, "A" * 32]
)
def test_a_secret_must_be_whsec_and_the_base64_of_24_to_64_bytes(secret):
    with pytest.raises(InvalidSecret, match="whsec_"):
        check_secret(secret)


def test_a_well_formed_secret_is_accepted():
    assert check_secret(SECRET) == SECRET
