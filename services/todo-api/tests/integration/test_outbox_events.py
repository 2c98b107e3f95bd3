"""Every write becomes exactly one TodoChanged on the topic, through the outbox, even across an outage."""

from __future__ import annotations

import json
import os
import threading
from contextlib import contextmanager

import pytest

from bench.aws_calls import AwsCallCounter
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.events import TodoChanged, parse_data, parse_envelope
from taskoverflow_shared.sns_publisher import SnsPublisher
from tests.support.moto import wait_until
from tests.support.sqs import receive_all
from tests.support.tcp_proxy import TcpProxy
from todo_api.bootstrap import build_relay
from todo_api.entrypoints.outbox_relay import run_relay
from todo_api.views import TodoFilters


def subscribe_test_queue(topic_arn: str) -> str:
    """A queue that hears everything on the topic, raw, as any new consumer would."""
    sqs, sns = make_client("sqs"), make_client("sns")
    url = sqs.create_queue(QueueName="test-listener")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    return url


@contextmanager
def temporary_endpoint(url: str):
    saved = os.environ["AWS_ENDPOINT_URL"]
    os.environ["AWS_ENDPOINT_URL"] = url
    try:
        yield
    finally:
        os.environ["AWS_ENDPOINT_URL"] = saved


def publish_attempts(counter: AwsCallCounter) -> int:
    return counter.snapshot().get("sns.PublishBatch", 0)


def receive_events(url: str, expected: int) -> list[dict]:
    """Exactly `expected` event bodies: a duplicate would still be waiting after them."""
    sqs = make_client("sqs")
    bodies = [json.loads(message["Body"]) for message in receive_all(sqs, url, expected)]
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []) == []
    return bodies


def test_create_update_delete_each_publish_one_valid_todo_changed(client, todo_api, topology_addresses):
    listener = subscribe_test_queue(topology_addresses.topic_arn)
    relay = build_relay(todo_api)
    todo = client.post("/api/v1/todos", json={"title": "a"}, headers={"X-Correlation-ID": "req-1"}).json
    client.put(f"/api/v1/todos/{todo['id']}", json={"title": "b"})
    client.delete(f"/api/v1/todos/{todo['id']}")

    assert relay.relay_once() == 3
    assert relay.relay_once() == 0
    bodies = receive_events(listener, 3)
    assert {(body["correlationid"], body["dataschema"]) for body in bodies if body["data"]["version"] == 1} == {
        ("req-1", "urn:taskoverflow:events:TodoChanged:v1")
    }

    envelopes = sorted((parse_envelope(json.dumps(body)) for body in bodies), key=lambda e: e.data["version"])
    changes = [parse_data(envelope) for envelope in envelopes]
    assert all(isinstance(change, TodoChanged) for change in changes)
    assert [c.action for c in changes] == ["created", "updated", "deleted"]
    assert [c.version for c in changes] == [1, 2, 3]
    assert [c.todo.title for c in changes] == ["a", "b", "b"]
    assert {e.subject for e in envelopes} == {f"todos/{todo['id']}"}
    assert {e.source for e in envelopes} == {"todo-api"}
    assert envelopes[0].correlation_id == "req-1"
    assert len({e.id for e in envelopes}) == 3


def test_a_failed_request_writes_no_event(client, todo_api, topology_addresses):
    listener = subscribe_test_queue(topology_addresses.topic_arn)
    assert client.post("/api/v1/todos", json={"title": ""}).status_code == 400
    assert build_relay(todo_api).relay_once() == 0
    assert make_client("sqs").receive_message(QueueUrl=listener, WaitTimeSeconds=1).get("Messages", []) == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_writes_succeed_while_the_broker_is_down_and_the_event_goes_out_once_it_is_back(
    client, todo_api, topology_addresses, moto_server
):
    listener = subscribe_test_queue(topology_addresses.topic_arn)
    broker = TcpProxy(target_port=moto_server.port)
    calls = AwsCallCounter()
    with temporary_endpoint(broker.url):
        relay = build_relay(todo_api, SnsPublisher(calls.attach(make_client("sns")), topology_addresses.topic_arn))
    attempts_before = publish_attempts(calls)
    stop = threading.Event()
    relay_thread = threading.Thread(target=run_relay, args=(relay, stop, 0.05))
    relay_thread.start()
    try:
        response = client.post("/api/v1/todos", json={"title": "written during the outage"})
        assert response.status_code == 201
        wait_until(
            lambda: publish_attempts(calls) >= attempts_before + 2, timeout=10, message="failed publish attempts"
        )
        assert todo_api.views.todos(TodoFilters())  # the write is there, its event is not out yet

        broker.start()
        bodies = receive_events(listener, 1)
    finally:
        stop.set()
        relay_thread.join(10)
        broker.stop()
    assert bodies[0]["data"]["todo"]["title"] == "written during the outage"
