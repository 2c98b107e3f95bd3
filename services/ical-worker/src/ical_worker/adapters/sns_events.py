"""Publish the worker's outcome events through the shared publisher, one event per call."""

from __future__ import annotations

from dataclasses import dataclass

from taskoverflow_shared.events import Envelope
from taskoverflow_shared.sns_publisher import EventPublisher


class PublishRejected(Exception):
    """SNS answered but did not accept the event: raised so the job is retried, not lost."""


@dataclass
class SnsEventPublisher:
    publisher: EventPublisher

    def __call__(self, envelope: Envelope) -> None:
        if envelope.id not in self.publisher.publish([envelope]):
            raise PublishRejected(f"SNS did not accept {envelope.type} {envelope.id}")
