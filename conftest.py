"""Fixtures every test folder shares: a real moto server, one LocalStack for the session, and a
private PostgreSQL cluster."""

from __future__ import annotations

import os

import pytest

from tests.support.artifacts import ARTIFACTS
from tests.support.localstack import LocalStackServer
from tests.support.moto import MotoServer
from tests.support.postgres import PostgresCluster

EACH_EMULATOR = ["moto", "localstack"]


@pytest.fixture(scope="session")
def moto_server():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    server = MotoServer(log_path=ARTIFACTS / "moto-server.log").start()
    saved = {key: os.environ.get(key) for key in _AWS_ENV}
    os.environ.update(_AWS_ENV, AWS_ENDPOINT_URL=server.url)
    yield server
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def localstack_server():
    """One LocalStack for the whole session; each user takes a fresh account of it."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    server = LocalStackServer(state_dir=ARTIFACTS / "localstack", log_path=ARTIFACTS / "localstack.log").start()
    yield server
    server.stop()


@pytest.fixture(params=EACH_EMULATOR)
def emulator(request, monkeypatch) -> str:
    """Run the test on each emulator: the environment names a reset moto server, or a fresh
    account on the session's LocalStack. Returns the emulator's name."""
    if request.param == "moto":
        request.getfixturevalue("moto_server").reset()
        return "moto"
    server = request.getfixturevalue("localstack_server")
    for key, value in {**_AWS_ENV, **server.new_account(), "AWS_ENDPOINT_URL": server.url}.items():
        monkeypatch.setenv(key, value)
    # LocalStack reads the account from the access key id; keep no moto session token beside it.
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return "localstack"


@pytest.fixture
def topology_addresses(moto_server):
    """A fresh emulator holding the whole topology, created by the real bootstrap command."""
    from taskoverflow_shared.bootstrap_topology import bootstrap

    moto_server.reset()
    return bootstrap()


@pytest.fixture
def topology_on_each_emulator(emulator):
    """The whole topology, created by the real bootstrap command, on a fresh moto server and on
    a fresh LocalStack account."""
    from taskoverflow_shared.bootstrap_topology import bootstrap

    return bootstrap()


@pytest.fixture(scope="session")
def postgres_cluster():
    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()


_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


# Each tier is a folder name; a test belongs to the nearest tier folder above it. The timeout is
# the tier's unless the test sets its own (a container build outlasts any tier default).
TIER_TIMEOUTS = {"unit": 60, "integration": 300, "e2e": 300, "faults": 900, "containers": 1200}


def pytest_collection_modifyitems(items):
    """Marks every test with its tier, read from its path: `pytest -m unit` runs the `unit/`
    folders, and so on for `integration`, `e2e`, `faults` and `containers`. A test outside every
    tier folder is an error, so no test escapes `make test-<tier>`."""
    untiered = []
    for item in items:
        tier = next((part for part in reversed(item.path.parent.parts) if part in TIER_TIMEOUTS), None)
        if tier is None:
            untiered.append(item.nodeid)
            continue
        item.add_marker(getattr(pytest.mark, tier))
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(TIER_TIMEOUTS[tier]))
    if untiered:
        raise pytest.UsageError(
            "tests outside a tier folder (unit, integration, e2e, faults, containers): " + ", ".join(untiered)
        )
