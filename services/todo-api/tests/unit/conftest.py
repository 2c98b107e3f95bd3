from __future__ import annotations

import pytest

from todo_api.bootstrap import build_bus
from todo_api.messagebus import MessageBus

from .fakes import FakeClock, FakeUnitOfWork

DEADLINE_SECONDS = 300.0


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def bus(uow, clock) -> MessageBus:
    return build_bus(lambda: uow, DEADLINE_SECONDS, now=clock)
