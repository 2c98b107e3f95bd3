"""Publish envelopes to the SNS topic, in batches, with the event type as a message attribute.

Subscriptions route on the `type` attribute (filter policies), so consumers only ever receive
the events they handle.

On a FIFO topic (its name ends in `.fifo`, see topology.py) every entry also carries a message
group, the unit SNS and SQS keep in order, and the event id as deduplication id, so a
re-published event (the outbox relay publishes at least once) is dropped within five minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from taskoverflow_shared.events import Envelope
from taskoverflow_shared.group_commit import GroupCommit
from taskoverflow_shared.topology import is_fifo

SQS_MESSAGE_LIMIT_BYTES = 256 * 1024
SNS_BATCH_LIMIT = 10
# Set (to "true") on events an operator re-published from the archive: consumers log it.
REPLAYED_ATTRIBUTE = "replayed"


class MessageTooLarge(Exception):
    """The event would not fit in one SQS message; send a reference (claim check) instead."""


class EventPublisher(Protocol):
    """Port: publish envelopes; return the ids that were accepted."""

    def publish(self, envelopes: Sequence[Envelope]) -> set[str]: ...


@dataclass(frozen=True)
class Rejection:
    """Why the topic refused one event. `permanent`: the same entry can never be accepted (SNS
    blamed the sender, or the message is too large); otherwise it may be on another try."""

    code: str
    message: str
    permanent: bool


@dataclass
class PublishReport:
    """What became of each event of a publish: accepted, rejected with a reason, or neither
    (held back behind a refused event of its FIFO group, so never sent)."""

    accepted: set[str] = field(default_factory=set)
    rejected: dict[str, Rejection] = field(default_factory=dict)


class ReportingPublisher(Protocol):
    """Port: publish envelopes and say why any was refused (the outbox relay parks on it)."""

    def publish_reporting(self, envelopes: Sequence[Envelope]) -> PublishReport: ...


@dataclass
class AcceptedOnlyReports:
    """A plain EventPublisher seen as a ReportingPublisher: it names no reasons, so an event it
    did not accept counts as refused for now, not for good."""

    publisher: EventPublisher

    def publish_reporting(self, envelopes: Sequence[Envelope]) -> PublishReport:
        accepted = self.publisher.publish(envelopes)
        refused = Rejection("NotAccepted", "the publisher did not accept it", permanent=False)
        return PublishReport(accepted, {e.id: refused for e in envelopes if e.id not in accepted})


@dataclass
class SnsPublisher:
    sns: Any
    topic_arn: str
    type_attribute: str = "type"
    replayed: bool = False

    @property
    def is_fifo(self) -> bool:
        return is_fifo(self.topic_arn)

    def publish(self, envelopes: Sequence[Envelope]) -> set[str]:
        """Publish in batches of up to 10 (one request each); return the ids SNS accepted.

        A connection error propagates: the caller keeps the events and retries. An event too
        large for one message raises MessageTooLarge before anything is sent.
        """
        entries = [self._entry(envelope) for envelope in envelopes]
        for envelope, (_, size) in zip(envelopes, entries, strict=True):
            if size > SQS_MESSAGE_LIMIT_BYTES:
                raise MessageTooLarge(f"{envelope.type} {envelope.id} is {size} bytes")
        return self._publish_entries(entries, PublishReport()).accepted

    def publish_reporting(self, envelopes: Sequence[Envelope]) -> PublishReport:
        """Publish like `publish`, but an event SNS refuses, or one too large to send, is reported
        with its reason while the others go out. A failure of the whole call still propagates.

        On a FIFO topic, once an entry of a group is refused the group's later entries are held
        back too, so the retry cannot let a later version of a todo overtake an earlier one.
        """
        report = PublishReport()
        sendable = []
        for envelope in envelopes:
            entry, size = self._entry(envelope)
            if size > SQS_MESSAGE_LIMIT_BYTES:
                report.rejected[envelope.id] = Rejection(
                    MessageTooLarge.__name__, f"{envelope.type} {envelope.id} is {size} bytes", permanent=True
                )
            sendable.append((entry, size))
        return self._publish_entries(sendable, report)

    def _publish_entries(self, entries: list[tuple[dict[str, Any], int]], report: PublishReport) -> PublishReport:
        # On FIFO, a group with an entry too large to send waits whole: the relay parks that
        # entry, and the group's other entries go out in its next round, in order.
        held_back_groups = {entry.get("MessageGroupId") for entry, _ in entries if entry["Id"] in report.rejected}
        for batch in _batches([(entry, size) for entry, size in entries if entry["Id"] not in report.rejected]):
            sent = [entry for entry, _ in batch if not self.is_fifo or entry["MessageGroupId"] not in held_back_groups]
            if not sent:
                continue
            response = self.sns.publish_batch(TopicArn=self.topic_arn, PublishBatchRequestEntries=sent)
            report.accepted.update(result["Id"] for result in response.get("Successful", []))
            for failure in response.get("Failed", []):
                report.rejected[failure["Id"]] = Rejection(
                    failure.get("Code", "Unknown"), failure.get("Message", ""), bool(failure.get("SenderFault"))
                )
            if self.is_fifo:
                held_back_groups.update(e["MessageGroupId"] for e in sent if e["Id"] not in report.accepted)
        return report

    def _entry(self, envelope: Envelope) -> tuple[dict[str, Any], int]:
        body = envelope.model_dump_json()
        attributes = {
            self.type_attribute: {"DataType": "String", "StringValue": envelope.type},
            "correlationid": {"DataType": "String", "StringValue": envelope.correlation_id},
        }
        if self.replayed:
            attributes[REPLAYED_ATTRIBUTE] = {"DataType": "String", "StringValue": "true"}
        # SQS counts attribute names, types and values towards the 256 KiB limit.
        size = len(body.encode()) + sum(
            len(name) + len(value["DataType"]) + len(value["StringValue"].encode())
            for name, value in attributes.items()
        )
        # Batch entry ids allow only [A-Za-z0-9_-]{1,80}: a UUID event id fits.
        entry = {"Id": envelope.id, "Message": body, "MessageAttributes": attributes}
        if self.is_fifo:
            # Group and deduplication ids do not count towards the 256 KiB message size.
            entry["MessageGroupId"] = message_group(envelope)
            entry["MessageDeduplicationId"] = envelope.id
        return entry, size


class CoalescingPublisher:
    """Concurrent callers share PublishBatch requests (see group_commit.py): ten jobs finishing
    together cost one request instead of ten, and a lone caller publishes at once."""

    def __init__(self, publisher: EventPublisher) -> None:
        self._requests: GroupCommit[Envelope, set[str]] = GroupCommit(publisher.publish)

    def publish(self, envelopes: Sequence[Envelope]) -> set[str]:
        accepted = self._requests.submit(envelopes)
        return {envelope.id for envelope in envelopes} & accepted


def message_group(envelope: Envelope) -> str:
    """The FIFO message group of an event: the entity whose events must stay in order.

    The subject names that entity: `todos/<id>` for TodoChanged (the outbox relay's events), so
    each todo's versions arrive in order while different todos flow in parallel (SQS FIFO hands
    out one group at a time, and a group is limited to about 300 messages a second);
    `calendars/<job id>` for the calendar events, so a job's request, result and failure stay
    in order without one slow calendar holding up any other. An event without a subject belongs
    to no entity: its own id makes it a group of one, ordered against nothing and blocking nothing.
    Both ids fit SNS's rule for group ids (at most 128 letters, digits and punctuation).
    """
    return envelope.subject or envelope.id


def _batches(entries: list[tuple[dict[str, Any], int]]) -> list[list[tuple[dict[str, Any], int]]]:
    """Chunks that respect both SNS batch limits: 10 entries and 256 KiB in total."""
    batches: list[list[tuple[dict[str, Any], int]]] = []
    current: list[tuple[dict[str, Any], int]] = []
    current_bytes = 0
    for entry, size in entries:
        if current and (len(current) == SNS_BATCH_LIMIT or current_bytes + size > SQS_MESSAGE_LIMIT_BYTES):
            batches.append(current)
            current, current_bytes = [], 0
        current.append((entry, size))
        current_bytes += size
    if current:
        batches.append(current)
    return batches
