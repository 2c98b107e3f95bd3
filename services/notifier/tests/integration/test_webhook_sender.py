"""The HTTP webhook sender against real local HTTP receivers: signatures, retries, the SSRF guard."""

import socket
import time

import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http_event

from notifier.adapters.retry import RetryPolicy
from notifier.adapters.webhook_sender import HttpWebhookSender, resolve
from notifier.domain.address_policy import AddressPolicy
from notifier.domain.deliveries import Outcome
from notifier.domain.signing import signed_request, verify
from taskoverflow_shared.events import TodoChanged, new_envelope

SECRET = "whsec_bm90aWZpZXItdGVzdHMtd2ViaG9vay1rZXktMDAwMQ=="
ANOTHER_SECRET = "whsec_YW5vdGhlci1yZWNlaXZlcnMtd2ViaG9vay1rZXk="
TODO = {"id": 3, "title": "t", "completed": False, "created_at": "x", "updated_at": "x"}
QUICK = RetryPolicy(max_attempts=4, initial_backoff_seconds=0.01, max_backoff_seconds=0.05)


def sender(*, allow_private=True, resolver=resolve, timeout=2.0, retry=QUICK):
    return HttpWebhookSender(
        policy=AddressPolicy(allow_private=allow_private), retry=retry, timeout_seconds=timeout, resolver=resolver
    )


def request_to(url):
    envelope = new_envelope(TodoChanged(action="created", todo=TODO, version=1), source="todo-api", correlation_id="c")
    return envelope, signed_request(envelope, url, SECRET)


def soon(seconds=10.0):
    return time.monotonic() + seconds


def test_a_real_receiver_gets_a_post_whose_signature_verifies_with_the_secret_only(webhook_sink):
    sink = webhook_sink()
    envelope, request = request_to(f"{sink.url}/hooks/todo")

    result = sender().send(request, deadline=soon())

    assert result.outcome is Outcome.DELIVERED
    [received] = sink.received
    assert received.path == "/hooks/todo"
    assert received.header("Content-Type") == "application/cloudevents+json"
    assert received.header("X-TaskOverflow-Event") == "TodoChanged"
    assert received.header("webhook-id") == envelope.id
    assert received.body == envelope.model_dump_json().encode()
    # What a CloudEvents receiver sees: a valid event in structured mode, as it was published.
    event = from_http_event(HTTPMessage(headers=received.headers, body=received.body))
    assert (event.get_id(), event.get_type(), event.get_extension("correlationid")) == (envelope.id, "TodoChanged", "c")
    assert event.get_data() == envelope.data
    assert received.signature_valid
    assert verify(received.body, received.headers, SECRET)
    assert not verify(received.body, received.headers, ANOTHER_SECRET)


def test_a_receiver_answering_500_twice_then_200_gets_one_successful_delivery_in_three_requests(webhook_sink):
    sink = webhook_sink(statuses=[500, 500])
    _, request = request_to(f"{sink.url}/flaky")

    result = sender().send(request, deadline=soon())

    assert result.outcome is Outcome.DELIVERED
    assert result.attempts == 3
    assert [r.answered for r in sink.received] == [500, 500, 200]
    # Every retry carries the same bytes and signature.
    assert len({(r.body, r.header("webhook-signature")) for r in sink.received}) == 1


def test_a_receiver_answering_400_is_not_retried(webhook_sink):
    sink = webhook_sink(statuses=[400])
    _, request = request_to(f"{sink.url}/picky")

    result = sender().send(request, deadline=soon())

    assert result.outcome is Outcome.PERMANENT_FAILURE
    assert result.detail == "HTTP 400"
    assert len(sink.received) == 1


def test_a_redirect_is_not_followed(webhook_sink):
    sink = webhook_sink(statuses=[302])
    _, request = request_to(f"{sink.url}/moved")

    result = sender().send(request, deadline=soon())

    assert result.outcome is Outcome.PERMANENT_FAILURE
    assert len(sink.received) == 1


def test_a_receiver_that_keeps_failing_is_a_transient_failure_after_the_last_attempt(webhook_sink):
    sink = webhook_sink(statuses=[503] * 10)
    _, request = request_to(f"{sink.url}/down")

    result = sender().send(request, deadline=soon())

    assert result.outcome is Outcome.TRANSIENT_FAILURE
    assert result.detail == "HTTP 503"
    assert len(sink.received) == QUICK.max_attempts


def test_a_receiver_that_never_answers_times_out_and_is_retried():
    # A listening socket nobody accepts from: the kernel completes the handshake, no answer comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        _, request = request_to(f"http://127.0.0.1:{silent.getsockname()[1]}/slow")
        started = time.monotonic()

        result = sender(timeout=0.2, retry=RetryPolicy(2, 0.01, 0.01)).send(request, deadline=soon())

    assert result.outcome is Outcome.TRANSIENT_FAILURE
    assert "ReadTimeout" in result.detail
    assert result.attempts == 2
    assert time.monotonic() - started < 2


def test_a_closed_port_is_a_transient_connection_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _, request = request_to(f"http://127.0.0.1:{port}/nobody")

    result = sender(retry=RetryPolicy(2, 0.01, 0.01)).send(request, deadline=soon())

    assert result.outcome is Outcome.TRANSIENT_FAILURE
    assert "ConnectionError" in result.detail
    assert result.attempts == 2


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_loopback_targets_are_refused_by_default_and_never_contacted(webhook_sink, host):
    sink = webhook_sink()
    port = sink.url.rsplit(":", 1)[1]
    _, request = request_to(f"http://{host}:{port}/internal")

    result = sender(allow_private=False).send(request, deadline=soon())

    assert result.outcome is Outcome.PERMANENT_FAILURE
    assert "refused" in result.detail and "loopback" in result.detail
    assert result.attempts == 1
    assert sink.received == []


@pytest.mark.parametrize(("address", "reason"), [("10.0.0.1", "private"), ("169.254.169.254", "cloud metadata")])
def test_private_and_metadata_targets_are_refused_before_any_connection(address, reason):
    _, request = request_to(f"http://{address}/latest/meta-data/")

    result = sender(allow_private=False).send(request, deadline=soon())

    assert result.outcome is Outcome.PERMANENT_FAILURE
    assert reason in result.detail


def test_the_connection_goes_to_the_checked_address_with_the_original_host_header(webhook_sink):
    # The resolver is asked once per connection and its answer is what we connect to, so a
    # second, rebinding answer has no chance to be used. Here the name exists only for us.
    sink = webhook_sink()
    port = int(sink.url.rsplit(":", 1)[1])
    lookups = []

    def resolver(host, port):
        lookups.append(host)
        return ["127.0.0.1"]

    _, request = request_to(f"http://hooks.example.test:{port}/pinned")

    result = sender(resolver=resolver).send(request, deadline=soon())

    assert result.outcome is Outcome.DELIVERED
    assert lookups == ["hooks.example.test"]
    assert sink.received[0].header("Host") == f"hooks.example.test:{port}"


def test_a_name_that_resolves_to_public_and_private_addresses_is_refused(webhook_sink):
    sink = webhook_sink()
    port = int(sink.url.rsplit(":", 1)[1])
    _, request = request_to(f"http://rebind.example.test:{port}/x")

    result = sender(allow_private=False, resolver=lambda host, port: ["93.184.215.14", "127.0.0.1"]).send(
        request, deadline=soon()
    )

    assert result.outcome is Outcome.PERMANENT_FAILURE
    assert "127.0.0.1 is a loopback address" in result.detail
    assert sink.received == []


def test_an_https_target_is_guarded_too():
    _, request = request_to("https://127.0.0.1:9/secure")

    result = sender(allow_private=False).send(request, deadline=soon())

    assert result.outcome is Outcome.PERMANENT_FAILURE
    assert "loopback" in result.detail
