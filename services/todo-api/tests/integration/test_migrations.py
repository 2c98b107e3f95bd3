"""The schema comes from Alembic, and several processes may migrate at once."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import inspect

from todo_api.adapters.database import make_engine, upgrade_to_latest


# PostgreSQL only: that is where several todo-api tasks start together (ECS, compose); with SQLite
# `make run` migrates once before any process starts.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_simultaneous_migrations_on_postgresql_take_turns_and_leave_one_schema(database_url):
    engines = [make_engine(database_url) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(upgrade_to_latest, engines))
    tables = set(inspect(engines[0]).get_table_names())
    assert {"todos", "calendar_jobs", "outbox", "alembic_version"} <= tables
    for engine in engines:
        engine.dispose()
