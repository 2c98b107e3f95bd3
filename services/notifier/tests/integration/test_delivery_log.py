"""The SQLite delivery log: it survives a restart and forgets only what SQS can no longer redeliver."""

import sqlite3
from datetime import UTC, datetime, timedelta

from notifier.adapters.delivery_log import SqliteDeliveryLog


def test_a_recorded_delivery_survives_reopening_the_file(tmp_path):
    path = tmp_path / "nested" / "deliveries.sqlite3"
    first = SqliteDeliveryLog(path)
    first.record_delivered("event-1", "https://a.example")
    first.record_delivered("event-1", "https://a.example")  # twice is harmless
    first.close()

    reopened = SqliteDeliveryLog(path)

    assert reopened.was_delivered("event-1", "https://a.example")
    assert not reopened.was_delivered("event-1", "https://b.example")
    assert not reopened.was_delivered("event-2", "https://a.example")


def test_prune_forgets_only_old_deliveries(tmp_path):
    path = tmp_path / "deliveries.sqlite3"
    log = SqliteDeliveryLog(path)
    log.record_delivered("new", "mailto:ann@example.com")
    old = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    with sqlite3.connect(path) as raw:
        raw.execute("INSERT INTO deliveries VALUES ('old', 'mailto:ann@example.com', ?)", (old,))

    assert log.prune(timedelta(days=30)) == 1

    assert log.was_delivered("new", "mailto:ann@example.com")
    assert not log.was_delivered("old", "mailto:ann@example.com")


def test_a_recorded_delivery_is_visible_to_another_connection_without_closing(tmp_path):
    # A killed notifier closes nothing: what it committed must already be in the file (the WAL).
    path = tmp_path / "deliveries.sqlite3"
    SqliteDeliveryLog(path).record_delivered("event-1", "https://a.example")

    with sqlite3.connect(path) as other:
        rows = other.execute("SELECT event_id, target FROM deliveries").fetchall()
        journal_mode = other.execute("PRAGMA journal_mode").fetchone()[0]

    assert rows == [("event-1", "https://a.example")]
    assert journal_mode == "wal"
