"""Fault-injection scenarios: the real processes on LocalStack (or PostgreSQL), with a TCP proxy
in front of what fails, cut and restored mid-load."""

from __future__ import annotations

import pytest

from tests.support.system import RunningSystem


@pytest.fixture
def start_faulty_system(request):
    """Starts a system on the session's LocalStack whose services reach it through a proxy."""
    localstack = request.getfixturevalue("localstack_server")
    started: list[RunningSystem] = []

    def start(name: str, **options) -> RunningSystem:
        system = RunningSystem(
            f"faults-{name}", emulator="localstack", localstack=localstack, proxied_aws=True, **options
        )
        started.append(system.start())
        return system

    yield start
    for system in started:
        system.stop()
