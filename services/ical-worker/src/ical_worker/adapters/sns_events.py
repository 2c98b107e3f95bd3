"""Publish the worker's outcome events through the shared publisher, one event per call."""

from __future__ import annotations

from dataclasses import dataclass

from taskoverflow_shared.events import Envelope
from taskoverflow_shared.sns_publisher import EventPublisher
from taskoverflow_shared.tracing import producing


class PublishRejected(Exception):
    """SNS answered but did not accept the event: raised so the job is retried, not lost."""


@dataclass
class SnsEventPublisher:
    publisher: EventPublisher

    def __call__(self, envelope: Envelope) -> None:
        # The outcome continues the request's trace: its consumers become children of this publish.
        with producing(envelope) as envelope:
            accepted = self.publisher.publish([envelope])
        if envelope.id not in accepted:
            raise PublishRejected(f"SNS did not accept {envelope.type} {envelope.id}")
