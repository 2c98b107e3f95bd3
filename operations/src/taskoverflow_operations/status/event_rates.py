"""Events per type over the last few minutes, counted in the event archive.

Why the archive: it is the one place that knows each event's type on AWS and on both emulators.
SNS and SQS metrics count messages per topic or queue, not per type (a queue's filter policy
mixes types), and the emulators publish none. The archive trails the topic by the archiver's
flush time (EVENT_ARCHIVER_FLUSH_SECONDS, 10 s by default), so the newest seconds of the window
may still be in the archiver's buffer.

Cost: only the hour partitions of the window are listed, and only objects whose first event
arrived at most one archiver visibility timeout before the window are read (a batch is stored
within that time of its first arrival, or its messages come back and go into a later object).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from taskoverflow_operations.status.readings import EventRate, EventRates
from taskoverflow_shared.event_archive import scan_archive
from taskoverflow_shared.events import EVENT_TYPES
from taskoverflow_shared.topology import Topology

ARCHIVER_SERVICE = "event-archiver"


def read_event_rates(s3: Any, topology: Topology, now: datetime, window: timedelta) -> EventRates:
    since = now - window
    batch_span = timedelta(seconds=topology.queue_for(ARCHIVER_SERVICE).visibility_timeout_seconds)
    scan = scan_archive(
        s3,
        topology.bucket_name,
        topology.event_archive_prefix,
        since=since,
        until=now,
        objects_from=since - batch_span,
    )
    counts = dict.fromkeys(sorted(EVENT_TYPES), 0)
    for archived in scan.events:
        counts[archived.envelope.type] = counts.get(archived.envelope.type, 0) + 1
    minutes = window.total_seconds() / 60
    return EventRates(
        window_seconds=int(window.total_seconds()),
        per_type={
            name: EventRate(events=count, per_minute=round(count / minutes, 2)) for name, count in counts.items()
        },
    )
