"""Settings come from the shared topology, knobs from the environment, and bad knobs stop the start."""

from __future__ import annotations

import pytest

from ical_worker.config import Settings
from taskoverflow_shared.settings import SettingsError


def test_names_come_from_the_shared_topology() -> None:
    settings = Settings.from_environment(environ={})

    assert settings.queue.name == "taskoverflow-ical-worker"
    assert settings.queue.dlq_name == "taskoverflow-ical-worker-dlq"
    assert settings.topic_name == "taskoverflow-events"
    assert settings.layout.bucket == "taskoverflow-calendars"
    assert settings.layout.calendar_key("job-1") == "calendars/job-1.ics"
    assert settings.receive_wait_seconds == 20
    assert (settings.max_messages, settings.concurrency) == (10, 8)


def test_knobs_are_read_from_the_environment() -> None:
    settings = Settings.from_environment(
        environ={
            "ICAL_WORKER_MAX_MESSAGES": "1",
            "ICAL_WORKER_CONCURRENCY": "2",
            "ICAL_WORKER_CACHE_SIZE": "0",
            "ICAL_WORKER_RECEIVE_WAIT_SECONDS": "1",
            "ICAL_WORKER_STARTUP_WAIT_SECONDS": "5",
        }
    )

    assert (settings.max_messages, settings.concurrency, settings.cache_size) == (1, 2, 0)
    assert (settings.receive_wait_seconds, settings.startup_wait_seconds) == (1, 5)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ICAL_WORKER_MAX_MESSAGES", "11", "between 1 and 10"),
        ("ICAL_WORKER_MAX_MESSAGES", "many", "must be an integer"),
        ("ICAL_WORKER_CONCURRENCY", "0", "between 1 and 64"),
        ("ICAL_WORKER_CACHE_SIZE", "-1", "at least 0"),
        ("ICAL_WORKER_RECEIVE_WAIT_SECONDS", "21", "between 0 and 20"),
    ],
)
def test_a_bad_knob_is_refused_with_its_name(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=f"{name}.*{message}"):
        Settings.from_environment(environ={name: value})
