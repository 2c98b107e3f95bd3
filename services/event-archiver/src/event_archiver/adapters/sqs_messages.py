"""A received SQS message as the archive keeps it: its envelope as delivered, and when it arrived."""

from __future__ import annotations

from typing import Any

from taskoverflow_shared.event_archive import ArchiveEntry
from taskoverflow_shared.sqs_consumer import envelope_text, sent_at


def archive_entry(message: dict[str, Any]) -> ArchiveEntry:
    """The envelope the message carries, ready to archive; UnprocessableEvent when it carries none.

    Any well-formed envelope is kept, whatever its type or schema version. The arrival time is
    SQS's SentTimestamp.
    """
    return ArchiveEntry.from_envelope_json(envelope_text(message), sent_at(message))
