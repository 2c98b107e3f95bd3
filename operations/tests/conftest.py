"""Fixtures the operator command tests share."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy.engine import make_url

BIN = Path(sys.executable).parent


@pytest.fixture(params=["sqlite", "postgresql"])
def todo_database(request, tmp_path) -> str:
    """An empty todo-api database, migrated by the todo-api's own command."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'todo-api.sqlite3'}"
    else:
        admin = make_url(request.getfixturevalue("postgres_cluster").url)
        name = f"status_{uuid.uuid4().hex[:12]}"
        connection = psycopg2.connect(host=admin.host, port=admin.port, user=admin.username, dbname="postgres")
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        connection.close()
        url = admin.set(database=name).render_as_string(hide_password=False)
    subprocess.run([str(BIN / "todo-api-migrate")], env={**os.environ, "DATABASE_URL": url}, check=True)
    return url
