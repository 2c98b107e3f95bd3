"""The archiver's settings from the environment."""

import pytest

from event_archiver.config import Settings
from taskoverflow_shared.settings import SettingsError


def test_defaults_come_from_the_topology():
    settings = Settings.from_environment({})

    assert settings.queue.name == "taskoverflow-event-archiver"
    assert (settings.bucket, settings.prefix) == ("taskoverflow-calendars", "event-archive/")
    assert (settings.flush_seconds, settings.flush_events, settings.receive_wait_seconds) == (10.0, 1000, 5)


def test_flush_knobs_are_read_from_the_environment():
    settings = Settings.from_environment(
        {
            "EVENT_ARCHIVER_FLUSH_SECONDS": "0.5",
            "EVENT_ARCHIVER_FLUSH_EVENTS": "20",
            "EVENT_ARCHIVER_RECEIVE_WAIT_SECONDS": "1",
        }
    )

    assert (settings.flush_seconds, settings.flush_events, settings.receive_wait_seconds) == (0.5, 20, 1)


def test_every_problem_is_reported_at_once_and_buffering_must_stay_well_inside_the_visibility_timeout():
    with pytest.raises(SettingsError) as invalid:
        Settings.from_environment({"EVENT_ARCHIVER_FLUSH_SECONDS": "30", "EVENT_ARCHIVER_FLUSH_EVENTS": "many"})

    assert invalid.value.problems == [
        "EVENT_ARCHIVER_FLUSH_SECONDS must be between 0.1 and 15, not 30",
        "EVENT_ARCHIVER_FLUSH_EVENTS must be an integer, not 'many'",
    ]
