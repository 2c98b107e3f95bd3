"""topology.json declares who publishes each event type (`publishers`); the typed view reads it by type too."""

from __future__ import annotations

import json
from importlib import resources

from taskoverflow_shared.events import EVENT_TYPES
from taskoverflow_shared.topology import load_topology, parse_topology


def test_each_event_type_has_its_declared_producers():
    topology = load_topology("standard")

    assert topology.producers_of("TodoChanged") == ("todo-api",)
    assert topology.producers_of("CalendarRequested") == ("todo-api",)
    assert topology.producers_of("CalendarReady") == ("ical-worker",)
    # The worker's render failures, and the todo-api's sweeper failing a job past its deadline.
    assert topology.producers_of("CalendarFailed") == ("todo-api", "ical-worker")
    assert topology.producing_services == {"todo-api", "ical-worker"}


def test_every_event_type_is_declared_with_its_producers():
    assert set(load_topology("standard").producers) == set(EVENT_TYPES)


def test_an_unknown_event_type_has_no_producer():
    assert load_topology("standard").producers_of("TodoDeleted") == ()


def test_fifo_delivery_keeps_the_producers():
    assert load_topology("fifo").producers == load_topology("standard").producers


def test_every_event_type_a_queue_filters_on_has_a_producer():
    raw = json.loads(resources.files("taskoverflow_shared").joinpath("topology.json").read_text())
    topology = parse_topology(raw)
    filtered = {event_type for spec in topology.queues.values() for event_type in spec.event_types or ()}

    assert filtered <= set(topology.producers)
    assert all(topology.producers[event_type] for event_type in topology.producers)
    assert topology.producing_services <= set(topology.queues)
