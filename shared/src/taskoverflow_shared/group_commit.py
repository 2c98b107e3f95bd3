"""Group commit: concurrent callers share one request, as a database shares one log flush.

While one request is in flight, the items of the callers that arrive meanwhile wait and go out
together in the next one. A lone caller's request leaves at once, so nothing waits for company;
under load, ten callers cost one request instead of ten. Each caller returns only once the
request that carried its items was answered, so it never acknowledges anything early.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")


@dataclass
class _Ticket(Generic[Item, Answer]):
    items: Sequence[Item]
    done: bool = False
    answer: Answer | None = None
    error: BaseException | None = None


@dataclass
class GroupCommit(Generic[Item, Answer]):
    """`send` takes every waiting caller's items in one list; each caller gets its answer (or error)."""

    send: Callable[[list[Item]], Answer]
    _changed: threading.Condition = field(default_factory=threading.Condition, init=False)
    _waiting: list[_Ticket[Item, Answer]] = field(default_factory=list, init=False)
    _sending: bool = field(default=False, init=False)

    def submit(self, items: Sequence[Item]) -> Answer:
        """Send `items` with whatever else is waiting; return the answer to the request that carried them."""
        ticket: _Ticket[Item, Answer] = _Ticket(items)
        with self._changed:
            self._waiting.append(ticket)
            while self._sending and not ticket.done:
                self._changed.wait()
            if not ticket.done:
                self._sending = True
                batch, self._waiting = self._waiting, []
        if not ticket.done:
            self._send(batch)
        if ticket.error is not None:
            raise ticket.error
        return ticket.answer  # type: ignore[return-value]

    @property
    def waiting(self) -> int:
        """Callers queued behind the request in flight (tests use it to line callers up)."""
        with self._changed:
            return len(self._waiting)

    def _send(self, batch: list[_Ticket[Item, Answer]]) -> None:
        answer: Answer | None = None
        # Until an answer comes, every caller in the batch counts as failed, even if we are interrupted.
        error: BaseException | None = RuntimeError("the request carrying these items was never sent")
        try:
            answer = self.send([item for ticket in batch for item in ticket.items])
            error = None
        except Exception as failure:
            error = failure
        finally:
            with self._changed:
                for ticket in batch:
                    ticket.answer, ticket.error, ticket.done = answer, error, True
                self._sending = False
                self._changed.notify_all()
