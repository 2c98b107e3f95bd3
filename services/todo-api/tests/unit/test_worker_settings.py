"""The relay and the consumer read the shared worker runtime's variables under the todo-api's prefix."""

from __future__ import annotations

import pytest

from todo_api.config import ConsumerProcessSettings, RelaySettings


def test_the_relay_reads_its_startup_wait_under_the_todo_api_prefix():
    settings = RelaySettings.from_environment({"TODO_API_STARTUP_WAIT_SECONDS": "5"})

    assert settings.startup_wait_seconds == 5
    assert RelaySettings.variable("startup_wait_seconds") == "TODO_API_STARTUP_WAIT_SECONDS"


@pytest.mark.parametrize(
    ("variable", "field"),
    [
        ("TODO_API_STARTUP_WAIT_SECONDS", "startup_wait_seconds"),
        ("TODO_API_RECEIVE_WAIT_SECONDS", "receive_wait_seconds"),
    ],
)
def test_the_consumer_reads_the_runtime_variables_under_the_todo_api_prefix(variable, field):
    settings = ConsumerProcessSettings.from_environment({variable: "3"})

    assert getattr(settings, field) == 3


def test_an_unprefixed_startup_wait_is_not_the_relays():
    settings = RelaySettings.from_environment({"STARTUP_WAIT_SECONDS": "7"})

    assert settings.startup_wait_seconds == 60
