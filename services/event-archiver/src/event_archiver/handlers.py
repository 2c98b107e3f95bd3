"""What a flush does: write the held events as archive objects. The loop acknowledges only after it returns."""

from __future__ import annotations

from collections.abc import Sequence

from event_archiver.domain.buffer import HeldMessage
from event_archiver.ports import ArchiveStore
from taskoverflow_shared.event_archive import ArchiveObject, archive_objects


def store_batch(held: Sequence[HeldMessage], *, store: ArchiveStore, prefix: str) -> list[ArchiveObject]:
    """Put one object per event hour of the batch; return them once every put succeeded, else raise.

    Object names are derived from their content, so storing a batch again (after a crash between
    put and delete) overwrites the same objects instead of adding copies.
    """
    objects = archive_objects((message.entry for message in held), prefix)
    for archive_object in objects:
        store.put(archive_object.key, archive_object.body)
    return objects
