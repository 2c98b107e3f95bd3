"""The archiver's port: the store it writes. The S3 adapter and the test fake implement it."""

from __future__ import annotations

from typing import Protocol


class ArchiveStore(Protocol):
    def put(self, key: str, body: bytes) -> None:
        """Store one archive object durably, or raise."""
        ...
