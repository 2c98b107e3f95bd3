"""What a batch comes to: the held events written as archive objects, one per event hour.

The shared consumer loop (batch mode) holds the messages and acknowledges them only after
`store_batch` returned: a message is deleted only once every PutObject of its batch succeeded.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

import structlog

from event_archiver.ports import ArchiveStore
from taskoverflow_shared.batch_mode import HeldMessage
from taskoverflow_shared.event_archive import ArchiveEntry, archive_objects, hour_prefix
from taskoverflow_shared.logging_setup import bound_trace

log = structlog.get_logger("event_archiver.handlers")


def store_batch(
    held: Sequence[HeldMessage[ArchiveEntry]],
    *,
    store: ArchiveStore,
    prefix: str,
    progress: Callable[[], None] = lambda: None,
) -> set[str]:
    """Put one object per event hour of the batch; return no failed message once every put succeeded, else raise.

    A batch is all or nothing: its objects mix the events of many messages. Object names are
    derived from their content, so storing a batch again (after a crash between put and delete)
    overwrites the same objects instead of adding copies. `progress` is called after each put
    (the loop's liveness: a long batch is not a stuck one).
    """
    started = time.perf_counter()
    entries = [message.item for message in held]
    with _trace_of(entries):
        objects = archive_objects(entries, prefix)
        for archive_object in objects:
            store.put(archive_object.key, archive_object.body)
            progress()
    # One line per event, as every consumer writes `event_handled`: a trace by event id or
    # correlation id finds where each event was archived.
    key_of_hour = {archive_object.key.rsplit("/", 1)[0] + "/": archive_object.key for archive_object in objects}
    for entry in entries:
        with bound_trace(entry.event_id, entry.envelope.correlation_id):
            key = key_of_hour[hour_prefix(prefix, entry.event_time)]
            log.info("event_archived", event_type=entry.envelope.type, key=key)
    with _trace_of(entries):
        log.info(
            "archive_flushed",
            messages=len(held),
            events=sum(o.event_count for o in objects),
            event_types=dict(Counter(entry.envelope.type for entry in entries)),
            objects=[o.key for o in objects],
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )
    return set()


def _trace_of(entries: Sequence[ArchiveEntry]) -> AbstractContextManager[None]:
    """The event's trace ids when a batch holds one event; a batch has no single event to name."""
    if len(entries) == 1:
        return bound_trace(entries[0].event_id, entries[0].envelope.correlation_id)
    return bound_trace(None, None)
