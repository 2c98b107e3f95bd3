"""The record of what was delivered where, which makes redelivered events harmless.

SQS delivers at least once, and a message comes back whole even when only one of its targets
failed. Recording each successful (event id, target) pair lets a redelivery skip what already
arrived and retry only what did not. The record lives in SQLite so it survives a restart.

The window that remains: a crash after a receiver accepted a POST but before the row is
written sends that POST again. Receivers deduplicate on webhook-id for that.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from notifier.adapters.sqlite_file import open_store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    event_id     TEXT NOT NULL,
    target       TEXT NOT NULL,
    delivered_at TEXT NOT NULL,
    PRIMARY KEY (event_id, target)
);
CREATE INDEX IF NOT EXISTS deliveries_by_age ON deliveries (delivered_at);
"""


class DeliveryLog(Protocol):
    """Port: which (event id, target) pairs were delivered. A target is a URL or `mailto:` address."""

    def was_delivered(self, event_id: str, target: str) -> bool: ...

    def record_delivered(self, event_id: str, target: str) -> None: ...


class SqliteDeliveryLog:
    def __init__(self, path: Path) -> None:
        # One connection, used by the consumer thread; the lock keeps it safe if that changes.
        self._connection = open_store(path, _SCHEMA)
        self._lock = threading.Lock()

    def was_delivered(self, event_id: str, target: str) -> bool:
        with self._lock:
            row = self._connection.execute(
                "SELECT 1 FROM deliveries WHERE event_id = ? AND target = ?", (event_id, target)
            ).fetchone()
        return row is not None

    def record_delivered(self, event_id: str, target: str) -> None:
        # Autocommit: the row is committed before the next target is tried (see sqlite_file.py).
        with self._lock:
            self._connection.execute(
                "INSERT OR IGNORE INTO deliveries (event_id, target, delivered_at) VALUES (?, ?, ?)",
                (event_id, target, _now().isoformat()),
            )

    def prune(self, older_than: timedelta) -> int:
        """Forget deliveries older than SQS could ever redeliver; return how many rows went."""
        cutoff = (_now() - older_than).isoformat()
        with self._lock:
            return self._connection.execute("DELETE FROM deliveries WHERE delivered_at < ?", (cutoff,)).rowcount

    def close(self) -> None:
        with self._lock:
            self._connection.close()


def _now() -> datetime:
    return datetime.now(UTC)
