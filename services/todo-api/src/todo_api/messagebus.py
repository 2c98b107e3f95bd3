"""The message bus: one handler per command or consumed event class, dependencies injected."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from taskoverflow_shared.events import Envelope, EventData
from todo_api.handlers import Handler


@dataclass
class MessageBus:
    """Dispatches a message to its handler by class. `dependencies` are given to a handler by
    parameter name; each value is a factory, called per message (a fresh unit of work each)."""

    handlers: Mapping[type, Handler]
    dependencies: Mapping[str, Callable[[], Any]]

    def handle(self, message: object) -> Any:
        handler = self.handlers.get(type(message))
        if handler is None:
            raise LookupError(f"no handler for {type(message).__name__}")
        return handler(message, **{name: self.dependencies[name]() for name in _dependencies_of(handler)})

    def consume(self, envelope: Envelope, event: EventData) -> None:
        """The consumer loop's handler signature: the envelope is the loop's business, not ours."""
        self.handle(event)

    def handled_event_types(self) -> list[str]:
        return [message.event_type for message in self.handlers if issubclass(message, EventData)]


@cache
def _dependencies_of(handler: Handler) -> tuple[str, ...]:
    return tuple(inspect.signature(handler).parameters)[1:]
