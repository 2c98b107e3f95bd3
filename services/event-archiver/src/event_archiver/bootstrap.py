"""Wire the archiver: the shared consumer loop in batch mode, storing to S3 (or the fakes a test passes in)."""

from __future__ import annotations

from functools import partial
from operator import attrgetter
from typing import Any

from event_archiver.adapters.s3_archive_store import S3ArchiveStore
from event_archiver.adapters.sqs_messages import archive_entry
from event_archiver.config import Settings
from event_archiver.handlers import store_batch
from event_archiver.ports import ArchiveStore
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.batch_mode import BatchMode
from taskoverflow_shared.heartbeat import Liveness
from taskoverflow_shared.sqs_consumer import SqsConsumer
from taskoverflow_shared.worker_runtime import Startup

# A put of one batch (≤ a few MB) takes well under a second; a short read timeout keeps a stuck
# request (with its retries) inside the time the visibility timeout leaves for a flush.
S3_READ_TIMEOUT_SECONDS = 10.0
# Receive at most once a second while the queue trickles (never longer than a flush interval).
BATCHING_WINDOW_SECONDS = 1.0


def bootstrap(
    settings: Settings,
    startup: Startup | None = None,
    *,
    sqs: Any | None = None,
    store: ArchiveStore | None = None,
) -> SqsConsumer:
    """The archive consumer; `startup` bounds the wait for the queues (`make run` bootstraps beside us)."""
    store = store or S3ArchiveStore(make_client("s3", read_timeout=S3_READ_TIMEOUT_SECONDS), settings.bucket)
    liveness = Liveness()
    return SqsConsumer.on_queue(
        settings,
        startup,
        sqs=sqs,
        handlers={},
        liveness=liveness,
        batch=BatchMode(
            decode=archive_entry,
            handle=partial(store_batch, store=store, prefix=settings.prefix, progress=liveness.tick),
            max_messages=settings.flush_events,
            max_age_seconds=settings.flush_seconds,
            envelope_of=attrgetter("envelope"),
        ),
        batching_window_seconds=min(BATCHING_WINDOW_SECONDS, settings.flush_seconds),
    )
