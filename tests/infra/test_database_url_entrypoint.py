"""The todo-api image's entrypoint builds DATABASE_URL from the parts ECS injects."""

from __future__ import annotations

import importlib.util
from types import ModuleType
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.infra.offline_terraform import REPO_ROOT

PARTS = {
    "DB_HOST": "taskoverflow.abc123.us-east-1.rds.amazonaws.com",
    "DB_PORT": "5432",
    "DB_NAME": "taskoverflow",
    "DB_USERNAME": "taskoverflow",
    "DB_PASSWORD": "p@ss:w/rd#?%&=",
}


@pytest.fixture(scope="module")
def entrypoint() -> ModuleType:
    path = REPO_ROOT / "infra" / "docker" / "database_url_entrypoint.py"
    spec = importlib.util.spec_from_file_location("database_url_entrypoint", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_generated_password_survives_the_trip_through_the_url(entrypoint):
    url = urlsplit(entrypoint.database_url(PARTS))

    assert url.scheme == "postgresql+psycopg2"
    assert unquote(url.password) == PARTS["DB_PASSWORD"]
    assert (url.hostname, url.port, url.path) == (PARTS["DB_HOST"], 5432, "/taskoverflow")
    assert parse_qs(url.query) == {"sslmode": ["verify-full"], "sslrootcert": ["/etc/ssl/certs/rds-global-bundle.pem"]}


def test_the_server_certificate_is_verified_against_the_given_bundle(entrypoint):
    url = urlsplit(entrypoint.database_url({**PARTS, "DB_SSLMODE": "verify-full", "DB_SSLROOTCERT": "/opt/ca.pem"}))

    assert parse_qs(url.query) == {"sslmode": ["verify-full"], "sslrootcert": ["/opt/ca.pem"]}


def test_a_mode_that_verifies_nothing_needs_no_bundle(entrypoint):
    url = urlsplit(entrypoint.database_url({**PARTS, "DB_SSLMODE": "require"}))

    assert parse_qs(url.query) == {"sslmode": ["require"]}


def test_an_existing_database_url_is_left_alone(entrypoint):
    assert entrypoint.database_url({**PARTS, "DATABASE_URL": "postgresql+psycopg2://local"}) is None


def test_without_the_parts_nothing_is_set(entrypoint):
    assert entrypoint.database_url({"DB_HOST": "db"}) is None
