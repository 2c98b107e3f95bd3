"""The archiver's loop: receive → buffer → store the batch → acknowledge it.

The shared SqsConsumer acknowledges each message after its own handler; the archive wants one
S3 object per batch instead of one per event, so this loop holds messages until a flush. The
rules it keeps:
- a message is deleted only after every PutObject of its flush succeeded;
- when a flush fails, nothing is kept in hand: the messages come back after the visibility
  timeout (which spaces out the retries), and after maxReceiveCount SQS moves them to the DLQ;
- a body that is no envelope goes to the DLQ at once, with its reason, and blocks nothing;
- on stop, what is held is stored, or if that fails released for another worker at once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import structlog

from event_archiver.domain.buffer import ArchiveBuffer, HeldMessage
from event_archiver.domain.messages import archive_entry
from event_archiver.handlers import store_batch
from event_archiver.ports import ArchiveQueue, ArchiveStore
from taskoverflow_shared.event_archive import hour_prefix
from taskoverflow_shared.events import UnprocessableEvent
from taskoverflow_shared.heartbeat import Heartbeat
from taskoverflow_shared.logging_setup import bound_trace

SQS_RECEIVE_LIMIT = 10

log = structlog.get_logger("event_archiver.consumer")


@dataclass(frozen=True)
class FlushResult:
    """What one flush did, for tests and logs."""

    stored_messages: int = 0
    objects: int = 0
    failed: bool = False


@dataclass
class ArchiveConsumer:
    queue: ArchiveQueue
    store: ArchiveStore
    prefix: str
    buffer: ArchiveBuffer
    receive_wait_seconds: int = 20
    heartbeat: Heartbeat | None = None
    clock: Callable[[], float] = time.monotonic
    # Nobody waits on the archive: after a receive that did not fill a batch, let the queue
    # gather more before the next one, instead of one receive per event under a steady trickle.
    batching_window_seconds: float = 0.0
    _last_receive_filled: bool = field(default=False, init=False)

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop` is set, then store (or release) whatever is still held."""
        log.info("consumer_started", flush_events=self.buffer.max_events, flush_seconds=self.buffer.max_age_seconds)
        if self.heartbeat:
            self.heartbeat.beat()  # alive before the first long poll returns
        try:
            while not stop.is_set():
                try:
                    started = self.clock()
                    self.poll_once()
                    if not self._last_receive_filled and self.batching_window_seconds:
                        stop.wait(self.batching_window_seconds - (self.clock() - started))
                except Exception:
                    # The broker may be briefly unreachable: back off instead of spinning.
                    log.exception("receive_failed")
                    stop.wait(1.0)
        finally:
            self.flush(release_on_failure=True)
            log.info("consumer_stopped")

    def poll_once(self) -> FlushResult | None:
        """One receive; flushes when the batch is full or old enough. Returns the flush's result, if any."""
        wait_seconds = self.buffer.receive_wait_seconds(self.clock(), self.receive_wait_seconds)
        max_messages = max(min(SQS_RECEIVE_LIMIT, self.buffer.room), 1)
        messages = self.queue.receive(max_messages=max_messages, wait_seconds=wait_seconds)
        self._last_receive_filled = len(messages) == max_messages
        if self.heartbeat:
            self.heartbeat.beat()
        dead = []
        for message in messages:
            try:
                entry = archive_entry(message)
            except UnprocessableEvent as unprocessable:
                with bound_trace(None, None):
                    log.error("message_dead_lettered", message_id=message.message_id, reason=unprocessable.reason)
                dead.append((message, unprocessable.reason))
                continue
            with bound_trace(entry.event_id, entry.envelope.correlation_id):
                log.debug("event_buffered", event_type=entry.envelope.type, message_id=message.message_id)
            self.buffer.add(HeldMessage(message, entry), self.clock())
        if dead:
            self.queue.dead_letter(dead)
        if self.buffer.is_due(self.clock()):
            return self.flush()
        return None

    def flush(self, *, release_on_failure: bool = False) -> FlushResult:
        """Store everything held, then delete it from the queue; on failure let it come back."""
        held = self.buffer.take()
        if not held:
            return FlushResult()
        started = time.perf_counter()
        with _trace_of(held):
            try:
                objects = store_batch(held, store=self.store, prefix=self.prefix)
            except Exception:
                log.exception("archive_flush_failed", messages=len(held), released=release_on_failure)
                if release_on_failure:
                    self._release([h.message for h in held])
                return FlushResult(failed=True)
            failed_deletes = self.queue.delete([h.message for h in held])
        # One line per event, as every consumer writes `event_handled`: a trace by event id or
        # correlation id finds where each event was archived.
        key_of_hour = {archive_object.key.rsplit("/", 1)[0] + "/": archive_object.key for archive_object in objects}
        for message in held:
            entry = message.entry
            with bound_trace(entry.event_id, entry.envelope.correlation_id):
                key = key_of_hour[hour_prefix(self.prefix, entry.event_time)]
                log.info("event_archived", event_type=entry.envelope.type, key=key)
        with _trace_of(held):
            log.info(
                "archive_flushed",
                messages=len(held),
                events=sum(o.event_count for o in objects),
                event_types=dict(Counter(h.entry.envelope.type for h in held)),
                objects=[o.key for o in objects],
                failed_deletes=failed_deletes,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
        return FlushResult(stored_messages=len(held), objects=len(objects))

    def _release(self, messages: Sequence) -> None:
        try:
            self.queue.release(messages)
            log.info("messages_released", count=len(messages))
        except Exception:
            # They still come back, only after the visibility timeout.
            log.exception("release_failed", count=len(messages))


def _trace_of(held: Sequence[HeldMessage]):
    """The event's trace ids when a flush holds one event; a batch has no single event to name."""
    if len(held) == 1:
        return bound_trace(held[0].entry.event_id, held[0].entry.envelope.correlation_id)
    return bound_trace(None, None)
