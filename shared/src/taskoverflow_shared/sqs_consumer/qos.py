"""The QoS part: what is in flight, keeping it invisible while it is handled, and settling it
(delete, release, dead-letter) once handled."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from taskoverflow_shared.group_commit import GroupCommit
from taskoverflow_shared.sqs_consumer.channel import Channel

log = structlog.get_logger("taskoverflow.consumer")


@dataclass
class Lane:
    """What handling one lane came to."""

    acknowledged: list[dict[str, Any]] = field(default_factory=list)
    dead: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    failed: int = 0
    unhandled: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class QoS:
    """The receipts of the messages in hand, by message id, renewed until they are settled."""

    channel: Channel
    visibility_timeout_seconds: int
    _in_flight: dict[str, str] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    # Lanes finishing together share DeleteMessageBatch requests.
    _deletes: GroupCommit[str, None] = field(init=False)

    def __post_init__(self) -> None:
        self._deletes = GroupCommit(self.channel.delete)

    def received(self, messages: Sequence[dict[str, Any]]) -> None:
        with self._lock:
            self._in_flight.update({m["MessageId"]: m["ReceiptHandle"] for m in messages})

    def forget(self, messages: Sequence[dict[str, Any]]) -> None:
        """Stop renewing the messages' visibility: they are settled, or left to come back."""
        with self._lock:
            for message in messages:
                self._in_flight.pop(message["MessageId"], None)

    def acknowledge(self, messages: Sequence[dict[str, Any]]) -> None:
        self.forget(messages)
        self._deletes.submit([message["ReceiptHandle"] for message in messages])

    def release(self, messages: Sequence[dict[str, Any]]) -> int:
        """Make unprocessed messages visible again now, for another worker, instead of later."""
        self.forget(messages)
        self.channel.change_visibility([m["ReceiptHandle"] for m in messages], 0)
        log.info("messages_released", count=len(messages))
        return len(messages)

    def settle(self, lanes: Sequence[Lane]) -> None:
        """Release what was not handled, dead-letter what never can be, delete the rest.

        If the dead letters cannot be sent, nothing of these lanes is deleted and the loop stops
        renewing their visibility: they all come back after the timeout, none is lost or stuck.
        """
        # Visible again at once, yet SQS keeps the group closed while the retried message
        # is in flight, so they return behind it. Leaving them to time out instead would
        # let moto hand them out before it, as it reopens a group per message, not per batch.
        unhandled = [message for lane in lanes for message in lane.unhandled]
        if unhandled:
            self.release(unhandled)
        dead = [entry for lane in lanes for entry in lane.dead]
        settled = [message for lane in lanes for message in lane.acknowledged] + [message for message, _ in dead]
        try:
            self.channel.dead_letter(dead)
        except Exception:
            self.forget(settled)
            raise
        if settled:
            self.acknowledge(settled)

    def keep_invisible_until(self, stop: threading.Event) -> None:
        """Keep long work invisible to other workers: renew at a third of the timeout."""
        interval = max(self.visibility_timeout_seconds / 3, 1)
        while not stop.wait(interval):
            with self._lock:
                in_flight = list(self._in_flight.values())
            if not in_flight:
                continue
            try:
                self.channel.change_visibility(in_flight, self.visibility_timeout_seconds)
                log.info("visibility_extended", count=len(in_flight))
            except Exception:
                log.exception("visibility_extension_failed")
