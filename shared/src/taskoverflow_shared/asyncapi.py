"""The AsyncAPI 3.0 document of the events, generated from topology.json and the JSON Schemas.

What it declares, all read from the one declaration of each thing:
- channels: the SNS topic, each service's SQS queue and its dead-letter queue (SNS and SQS
  bindings: raw delivery, visibility timeout, long polling, retention, redrive policy);
- messages: one per event type, a CloudEvent in structured mode whose `data` is the event's schema
  and whose SNS/SQS message attributes carry the `type` the filter policies match;
- operations: each publisher sends its event types to the topic (the SNS binding lists every
  subscription with its filter policy), each consuming service receives from its queue.

`taskoverflow-export-schemas` writes it next to the schema files (`asyncapi.json`); a test fails
when the two drift. The todo-api serves the committed file beside its OpenAPI document.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import metadata, resources
from typing import Any

from taskoverflow_shared.events import EVENT_TYPES, schema_uri
from taskoverflow_shared.schema_files import expected_schemas
from taskoverflow_shared.sns_publisher import REPLAYED_ATTRIBUTE
from taskoverflow_shared.sqs_consumer import DEAD_LETTER_REASON_ATTRIBUTE
from taskoverflow_shared.topology import QueueSpec, Topology, load_topology

ASYNCAPI_FILE = "asyncapi.json"
CLOUDEVENTS_JSON = "application/cloudevents+json"
# The newest SNS and SQS bindings the AsyncAPI 3.0.0 schema accepts.
SNS_BINDING_VERSION = "0.1.0"
SQS_BINDING_VERSION = "0.2.0"
_SCHEMAS = "#/components/schemas/"


def asyncapi_document(topology: Topology | None = None) -> dict[str, Any]:
    """The document for the standard delivery variant (FIFO only renames; see `info.description`)."""
    topology = topology or load_topology("standard")
    schemas = _component_schemas()
    messages = {event_type: _message(event_type, topology) for event_type in EVENT_TYPES}
    topic = topology.topic_name
    channels: dict[str, Any] = {
        topic: {
            "address": topic,
            "title": "The event topic",
            "description": "Every event is published here once and fanned out to the queues by filter policy.",
            "messages": _message_refs(EVENT_TYPES),
            "bindings": {
                "sns": {"name": topic, "ordering": {"type": "standard"}, "bindingVersion": SNS_BINDING_VERSION}
            },
        }
    }
    operations: dict[str, Any] = {}
    for publisher, event_types in topology.publishers.items():
        operations[f"{publisher}-publishes"] = {
            "action": "send",
            "title": f"{publisher} publishes",
            "description": f"{publisher} publishes its events to the topic (through its outbox or group commit).",
            "channel": {"$ref": f"#/channels/{topic}"},
            "messages": [{"$ref": f"#/channels/{topic}/messages/{event_type}"} for event_type in event_types],
            "bindings": {"sns": _subscriptions(topology)},
        }
    for service, queue in topology.queues.items():
        event_types = queue.event_types or tuple(EVENT_TYPES)
        channels[queue.name] = {
            "address": queue.name,
            "title": f"{service}'s queue",
            "description": f"What {service} consumes: {', '.join(event_types)}.",
            "messages": _message_refs(event_types),
            "bindings": {"sqs": _queue_binding(queue, topology)},
        }
        channels[queue.dlq_name] = {
            "address": queue.dlq_name,
            "title": f"{service}'s dead-letter queue",
            "description": (
                f"Messages {service} could not handle: moved at once when they can never succeed (with a "
                f"`{DEAD_LETTER_REASON_ATTRIBUTE}` attribute), by SQS after {queue.max_receive_count} receives "
                "otherwise. `taskoverflow dlq` lists, redrives and purges them."
            ),
            "messages": _message_refs(event_types),
            "bindings": {"sqs": _dead_letter_binding(queue, topology)},
        }
        operations[f"{service}-consumes"] = {
            "action": "receive",
            "title": f"{service} consumes",
            "description": "Long polling; a message is deleted only once handled, so delivery is at least once.",
            "channel": {"$ref": f"#/channels/{queue.name}"},
            "messages": [{"$ref": f"#/channels/{queue.name}/messages/{event_type}"} for event_type in event_types],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "TaskOverflow events",
            "version": metadata.version("taskoverflow-shared"),
            "description": (
                "The events TaskOverflow's services exchange: CloudEvents 1.0 in the JSON format, published "
                "to one SNS topic and fanned out to one SQS queue per consuming service by filter policies on "
                f"the `{topology.message_type_attribute}` message attribute, with raw message delivery. With "
                "`TASKOVERFLOW_DELIVERY=fifo` every topic and queue name, DLQs included, ends in `.fifo` and "
                "the message group is the event's `subject`; nothing else changes."
            ),
        },
        "defaultContentType": CLOUDEVENTS_JSON,
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


@cache
def published_asyncapi_document() -> dict[str, Any]:
    """The committed document, as the package ships it (what the API serves)."""
    document: dict[str, Any] = json.loads(resources.files("taskoverflow_shared").joinpath(ASYNCAPI_FILE).read_text())
    return document


def asyncapi_text() -> str:
    return json.dumps(asyncapi_document(), indent=2) + "\n"


def _component_schemas() -> dict[str, Any]:
    """Every schema once, under its title; the nested `$defs` of pydantic's output are hoisted
    so that a message's `$ref`s resolve inside this document."""
    components: dict[str, Any] = {}
    for schema in expected_schemas().values():
        for name, definition in [*schema.get("$defs", {}).items(), (schema["title"], schema)]:
            hoisted = _local_refs(definition)
            # The file's `$id` would make it the base of the refs; `dataschema` names it instead.
            for key in ("$defs", "$id"):
                hoisted.pop(key, None)
            if components.setdefault(name, hoisted) != hoisted:
                raise ValueError(f"two different schemas are both called {name}")
    return components


def _local_refs(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {
            key: value.replace("#/$defs/", _SCHEMAS) if key == "$ref" else _local_refs(value)
            for key, value in copy.deepcopy(schema).items()
        }
    if isinstance(schema, list):
        return [_local_refs(item) for item in schema]
    return schema


def _message(event_type: str, topology: Topology) -> dict[str, Any]:
    model = EVENT_TYPES[event_type]
    major = model.schema_version.split(".", 1)[0]
    return {
        "name": event_type,
        "title": f"{event_type} {model.schema_version}",
        "summary": (model.__doc__ or "").strip().splitlines()[0],
        "contentType": CLOUDEVENTS_JSON,
        "correlationId": {
            "description": "Shared by every event one request caused.",
            "location": "$message.payload#/correlationid",
        },
        "headers": {
            "type": "object",
            "description": "SNS message attributes, copied to SQS message attributes by raw delivery.",
            "properties": {
                topology.message_type_attribute: {
                    "type": "string",
                    "const": event_type,
                    "description": "What the filter policies match.",
                },
                "correlationid": {"type": "string", "description": "The event's `correlationid`."},
                REPLAYED_ATTRIBUTE: {"type": "string", "const": "true", "description": "Set on replayed events."},
                DEAD_LETTER_REASON_ATTRIBUTE: {
                    "type": "string",
                    "description": "Why a consumer moved the message to its dead-letter queue.",
                },
            },
            "required": [topology.message_type_attribute, "correlationid"],
        },
        "payload": {
            "allOf": [
                {"$ref": f"{_SCHEMAS}Envelope"},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": event_type},
                        "dataschema": {"const": schema_uri(event_type, major)},
                        "dataversion": {"type": "string", "pattern": rf"^{major}\.\d+$"},
                        "data": {"$ref": f"{_SCHEMAS}{event_type}"},
                    },
                },
            ]
        },
    }


def _message_refs(event_types: Any) -> dict[str, Any]:
    return {event_type: {"$ref": f"#/components/messages/{event_type}"} for event_type in event_types}


def _subscriptions(topology: Topology) -> dict[str, Any]:
    consumers = []
    for queue in topology.queues.values():
        consumer: dict[str, Any] = {"protocol": "sqs", "endpoint": {"name": queue.name}}
        if (policy := queue.filter_policy(topology.message_type_attribute)) is not None:
            consumer |= {"filterPolicy": policy, "filterPolicyScope": "MessageAttributes"}
        consumers.append(consumer | {"rawMessageDelivery": queue.raw_message_delivery})
    return {"consumers": consumers, "bindingVersion": SNS_BINDING_VERSION}


def _queue(name: str, topology: Topology, **settings: Any) -> dict[str, Any]:
    return {"name": name, "fifoQueue": False, "messageRetentionPeriod": topology.message_retention_seconds, **settings}


def _queue_binding(queue: QueueSpec, topology: Topology) -> dict[str, Any]:
    redrive = {"deadLetterQueue": {"name": queue.dlq_name}, "maxReceiveCount": queue.max_receive_count}
    return {
        "queue": _queue(
            queue.name,
            topology,
            visibilityTimeout=queue.visibility_timeout_seconds,
            receiveMessageWaitTime=topology.receive_wait_time_seconds,
            redrivePolicy=redrive,
        ),
        "deadLetterQueue": _queue(queue.dlq_name, topology),
        "bindingVersion": SQS_BINDING_VERSION,
    }


def _dead_letter_binding(queue: QueueSpec, topology: Topology) -> dict[str, Any]:
    return {"queue": _queue(queue.dlq_name, topology), "bindingVersion": SQS_BINDING_VERSION}
