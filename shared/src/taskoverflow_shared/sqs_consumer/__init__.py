"""The one SQS consumer loop every service runs: receive → parse → dispatch → acknowledge.

Delivery is at least once, so handlers must be idempotent. The loop deletes a message only
after its handler succeeded; a handler that raises leaves the message to come back after the
visibility timeout (and, after the queue's maxReceiveCount, SQS moves it to the DLQ). A message
that can never succeed (bad JSON, bad schema, unknown type or major version, a `source` that
topology.json does not declare a producer of its type) is moved to the DLQ at once with its
reason, so it neither crashes the worker nor blocks the queue.

A received batch is split into lanes: on a standard queue every distinct message is a lane of its
own, on a FIFO queue a lane is one message group in the order SQS gave it. With `concurrency` above
one, `run` keeps up to that many lanes going on a thread pool (handlers wait on S3, SNS, a
database or a webhook far more than they compute) and receives again as soon as one is free,
so a slow message never holds the queue behind it. Each lane settles its own messages when it
is done; lanes finishing together share DeleteMessageBatch requests (group commit), so a busy
consumer still acknowledges ten messages per request.

On a FIFO queue SQS hands out a message group's messages in order and no more of them while
one is in flight. The loop keeps that order: a lane is handled front to back, and once a
message of a group must be retried it releases the group's later messages unhandled, so they
come back after it instead of overtaking it.

In batch mode (`batch`, see batch_mode.py) the loop holds messages across receives and hands
them to one batch handler together, deleting only those it did not fail.

Every message the loop finishes counts in `events_consumed` (handled, failed or dead_lettered,
by event type) and, outside batch mode, its handling time in `event_handling_duration`
(metrics.py), so every service measures its events the same way.

The loop ticks its `liveness` at every step (each receive, each message handled or held), so
the heartbeat thread (heartbeat.py) tells a busy loop from a stuck one. `worker_runtime.py`
runs it with signals, start-up wait, logging and the heartbeat.

Its parts, by concern (as kombu splits a consumer into Channel, QoS and Message):
- consumer.py: `SqsConsumer`, the loop: receive, hand out lanes, settle.
- channel.py: the only part that talks to SQS (receive, delete, visibility, dead-letter).
- qos.py: what is in flight, its visibility renewal, and settling each lane.
- delivery.py: one message: parse, check its source, run its handler in its trace, measure it.
- message.py: what a received message says about itself (envelope, group, arrival, type).
- lanes.py: lanes and the FIFO hold-back.
- batching.py: batch mode in the loop.
- outage.py: `DependencyUnavailable` and the probe that waits it out.
"""

from taskoverflow_shared.sqs_consumer.channel import DEAD_LETTER_REASON_ATTRIBUTE, send_to_dead_letter_queue
from taskoverflow_shared.sqs_consumer.consumer import SqsConsumer
from taskoverflow_shared.sqs_consumer.delivery import Handler
from taskoverflow_shared.sqs_consumer.message import envelope_text, sent_at
from taskoverflow_shared.sqs_consumer.outage import (
    DEPENDENCY_PROBE_FIRST_SECONDS,
    DEPENDENCY_PROBE_LONGEST_SECONDS,
    DependencyUnavailable,
)
from taskoverflow_shared.sqs_consumer.outcomes import (
    HANDLED,
    RETRY_LATER,
    WAIT_FOR_DEPENDENCY,
    DeadLetter,
    Outcome,
    PollResult,
)

__all__ = [
    "DEAD_LETTER_REASON_ATTRIBUTE",
    "DEPENDENCY_PROBE_FIRST_SECONDS",
    "DEPENDENCY_PROBE_LONGEST_SECONDS",
    "HANDLED",
    "RETRY_LATER",
    "WAIT_FOR_DEPENDENCY",
    "DeadLetter",
    "DependencyUnavailable",
    "Handler",
    "Outcome",
    "PollResult",
    "SqsConsumer",
    "envelope_text",
    "send_to_dead_letter_queue",
    "sent_at",
]
