"""A received SQS message as the live feed takes it: the TodoChanged it carries, with its envelope."""

from __future__ import annotations

from typing import Any

from ical_worker.domain import FeedChange, InvalidTodo, render_event
from taskoverflow_shared.events import TodoChanged, UnprocessableEvent, parse_data, parse_envelope
from taskoverflow_shared.sqs_consumer import envelope_text


def todo_change(message: dict[str, Any]) -> FeedChange:
    """The TodoChanged a message carries; UnprocessableEvent (to the DLQ at once) for anything else.

    A todo that cannot be rendered is refused here, on its own, rather than failing the whole
    batch of its owner's changes until they all reach the DLQ together.
    """
    envelope = parse_envelope(envelope_text(message))
    data = parse_data(envelope)
    if not isinstance(data, TodoChanged):
        raise UnprocessableEvent(f"the feed consumes TodoChanged, not {envelope.type}")
    todo = data.todo
    if todo.deadline_at is not None:
        try:
            render_event(todo.id, todo.title, todo.description, todo.deadline_at, todo.updated_at)
        except InvalidTodo as invalid:
            raise UnprocessableEvent(invalid.reason) from invalid
    return FeedChange(envelope, data)
