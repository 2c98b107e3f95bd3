"""Wire the archive consumer to the real SQS queue and S3 bucket, or to the fakes a test passes in."""

from __future__ import annotations

from event_archiver.adapters.s3_archive_store import S3ArchiveStore
from event_archiver.adapters.sqs_archive_queue import SqsArchiveQueue
from event_archiver.batch_consumer import ArchiveConsumer
from event_archiver.config import Settings
from event_archiver.domain.buffer import ArchiveBuffer
from event_archiver.ports import ArchiveQueue, ArchiveStore
from taskoverflow_shared.addresses import queue_url
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.heartbeat import Heartbeat

# A put of one batch (≤ a few MB) takes well under a second; a short read timeout keeps a stuck
# request (with its retries) inside the time the visibility timeout leaves for a flush.
S3_READ_TIMEOUT_SECONDS = 10.0
# Receive at most once a second while the queue trickles (never longer than a flush interval).
BATCHING_WINDOW_SECONDS = 1.0


def bootstrap(
    settings: Settings,
    *,
    queue: ArchiveQueue | None = None,
    store: ArchiveStore | None = None,
    heartbeat: Heartbeat | None = None,
) -> ArchiveConsumer:
    if queue is None:
        # The read timeout must outlast the long poll, or every idle receive would end in an error.
        sqs = make_client("sqs", read_timeout=settings.receive_wait_seconds + 10)
        # `make run` starts the bootstrap beside us: queue_url waits for the queue to appear.
        queue = SqsArchiveQueue(
            sqs=sqs,
            queue_url=queue_url(sqs, settings.queue.name, settings.startup_wait_seconds),
            dead_letter_queue_url=queue_url(sqs, settings.queue.dlq_name, settings.startup_wait_seconds),
        )
    if store is None:
        store = S3ArchiveStore(make_client("s3", read_timeout=S3_READ_TIMEOUT_SECONDS), settings.bucket)
    return ArchiveConsumer(
        queue=queue,
        store=store,
        prefix=settings.prefix,
        buffer=ArchiveBuffer(max_events=settings.flush_events, max_age_seconds=settings.flush_seconds),
        receive_wait_seconds=settings.receive_wait_seconds,
        heartbeat=heartbeat,
        batching_window_seconds=min(BATCHING_WINDOW_SECONDS, settings.flush_seconds),
    )
