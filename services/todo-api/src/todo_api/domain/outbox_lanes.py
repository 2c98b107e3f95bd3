"""The outbox's lanes: which events a relay claims first, because someone is waiting on them.

A lane follows from the event type alone, so every event of one subject is in one lane and
keeps its order there. The number of a lane is what the outbox's `lane` column stores.
"""

from __future__ import annotations

import enum

from taskoverflow_shared.events import CalendarFailed, CalendarRequested


class Lane(enum.IntEnum):
    """The order in which a relay claims pending rows: the lower lane first."""

    INTERACTIVE = 0
    BULK = 1


# Events someone is waiting on. Add a type here (and nowhere else) to let it jump the bulk
# lane; a type must not share a subject with events of the other lane, or their order breaks.
# The todo-api's CalendarFailed (a deadline the sweeper enforced) has its request's subject, and
# its requester is waiting for the mail.
INTERACTIVE_EVENT_TYPES = frozenset({CalendarRequested.event_type, CalendarFailed.event_type})
ALL_LANES = tuple(Lane)


def lane_of(event_type: str) -> Lane:
    return Lane.INTERACTIVE if event_type in INTERACTIVE_EVENT_TYPES else Lane.BULK
