"""Fixtures every test folder shares: a real moto server and a private PostgreSQL cluster."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.moto import MotoServer
from tests.support.postgres import PostgresCluster

ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="session")
def moto_server():
    ARTIFACTS.mkdir(exist_ok=True)
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


@pytest.fixture
def topology_addresses(moto_server):
    """A fresh emulator holding the whole topology, created by the real bootstrap command."""
    from taskoverflow_shared.bootstrap_topology import bootstrap

    moto_server.reset()
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
