"""Lanes: a received batch split into the runs of messages that must be handled in order, and
the FIFO hold-back that keeps a message group's later messages behind one that must be retried."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from taskoverflow_shared.heartbeat import Liveness
from taskoverflow_shared.sqs_consumer.delivery import Delivery
from taskoverflow_shared.sqs_consumer.message import message_group
from taskoverflow_shared.sqs_consumer.outcomes import HANDLED, RETRY_LATER, WAIT_FOR_DEPENDENCY
from taskoverflow_shared.sqs_consumer.qos import Lane, QoS


def lanes_of(messages: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """A FIFO batch by message group, in received order; on a standard queue, one lane per body.

    Copies of one message (SQS delivers at least once, sometimes twice in one batch) share a lane,
    so the second copy's handler sees what the first one did and its idempotency check holds.
    """
    lanes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for message in messages:
        lanes[message_group(message) or message.get("MD5OfBody") or message["MessageId"]].append(message)
    return list(lanes.values())


def handle_lane(
    messages: list[dict[str, Any]],
    stop: threading.Event | None,
    *,
    delivery: Delivery,
    qos: QoS,
    liveness: Liveness,
) -> Lane:
    """Handle one lane front to back; after a retry or a stop, its later messages stay unhandled."""
    lane = Lane()
    for position, message in enumerate(messages):
        if stop is not None and stop.is_set():
            lane.unhandled.extend(messages[position:])
            break
        started = time.perf_counter()
        outcome = delivery.process(message)
        liveness.tick()
        delivery.measure(message, outcome, time.perf_counter() - started)
        if outcome is HANDLED:
            lane.acknowledged.append(message)
        elif outcome is RETRY_LATER or outcome is WAIT_FOR_DEPENDENCY:
            qos.forget([message])
            lane.failed += 1
            lane.unhandled.extend(messages[position + 1 :])
            break
        else:
            lane.dead.append((message, outcome.reason))
    return lane
