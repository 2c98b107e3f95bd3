"""Webhook signatures and the signed request the notifier sends."""

import hashlib
import hmac
import json

from notifier.domain.signing import sign, signed_request, verify
from taskoverflow_shared.events import TodoChanged, new_envelope

TODO = {"id": 7, "title": "write tests", "completed": False, "created_at": "x", "updated_at": "x"}


def test_signature_matches_the_published_github_example():
    # The example from GitHub's "Validating webhook deliveries" page: same scheme, same result.
    assert (
        sign(b"Hello, World!", "It's a Secret to Everybody")
        == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


def test_verify_accepts_the_right_secret_and_rejects_another_or_a_changed_body():
    signature = sign(b'{"a":1}', "right")
    assert verify(b'{"a":1}', "right", signature)
    assert not verify(b'{"a":1}', "wrong", signature)
    assert not verify(b'{"a":2}', "right", signature)
    assert not verify(b'{"a":1}', "right", None)


def test_signed_request_posts_the_cloudevent_in_structured_mode_with_type_delivery_and_signature_headers():
    envelope = new_envelope(TodoChanged(action="created", todo=TODO, version=1), source="todo-api", correlation_id="c")

    request = signed_request(envelope, "https://hooks.example.com/x", "s3cret")

    assert json.loads(request.body) == json.loads(envelope.model_dump_json())
    assert request.headers["Content-Type"] == "application/cloudevents+json"
    assert request.headers["X-TaskOverflow-Event"] == "TodoChanged"
    assert request.headers["X-TaskOverflow-Delivery"] == envelope.id
    expected = hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-TaskOverflow-Signature"] == f"sha256={expected}"


def test_the_same_envelope_always_yields_the_same_bytes_so_retries_carry_the_same_signature():
    envelope = new_envelope(TodoChanged(action="created", todo=TODO, version=1), source="todo-api", correlation_id="c")
    assert signed_request(envelope, "https://a.example", "k") == signed_request(envelope, "https://a.example", "k")
