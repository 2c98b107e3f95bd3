"""The schema comes from Alembic, and several processes may migrate at once."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from todo_api.adapters.database import MIGRATIONS, make_engine, upgrade_to_latest
from todo_api.adapters.outbox import Lane


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


def test_lanes_migration_puts_pending_calendar_requests_in_the_interactive_lane(database_url):
    engine = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            text(
                "INSERT INTO outbox (event_id, event_type, envelope, created_at, published_at) VALUES"
                " ('pending-request', 'CalendarRequested', '{}', :now, NULL),"
                " ('published-request', 'CalendarRequested', '{}', :now, :now),"
                " ('pending-change', 'TodoChanged', '{}', :now, NULL)"
            ),
            {"now": datetime.now(UTC)},
        )
    upgrade_to_latest(engine)
    with engine.connect() as connection:
        lanes = dict(connection.execute(text("SELECT event_id, lane FROM outbox")).all())
    assert lanes == {"pending-request": Lane.INTERACTIVE, "published-request": Lane.BULK, "pending-change": Lane.BULK}
    engine.dispose()


def test_the_id_of_a_deleted_newest_todo_is_never_given_again(client):
    first = client.post("/api/v1/todos", json={"title": "first"}).json
    newest = client.post("/api/v1/todos", json={"title": "newest"}).json
    assert client.delete(f"/api/v1/todos/{newest['id']}").status_code == 200

    after = client.post("/api/v1/todos", json={"title": "after"}).json

    assert after["id"] not in (first["id"], newest["id"])


def test_todos_created_before_the_autoincrement_migration_keep_their_ids(database_url):
    engine = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    now = datetime.now(UTC)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        connection.execute(
            text(
                "INSERT INTO todos (title, completed, created_at, updated_at, version) VALUES"
                " ('kept', false, :now, :now, 1), ('deleted newest', false, :now, :now, 1)"
            ),
            {"now": now},
        )
        connection.execute(text("DELETE FROM todos WHERE title = 'deleted newest'"))
    upgrade_to_latest(engine)
    with engine.begin() as connection:
        kept = connection.execute(text("SELECT id, title FROM todos")).all()
        insert = text(
            "INSERT INTO todos (title, completed, created_at, updated_at, version) VALUES (:t, false, :n, :n, 1)"
        )
        connection.execute(insert, {"t": "new", "n": now})
        connection.execute(text("DELETE FROM todos WHERE title = 'new'"))
        connection.execute(insert, {"t": "next", "n": now})
        ids = dict(connection.execute(text("SELECT title, id FROM todos")).all())
    assert [title for _, title in kept] == ["kept"]
    assert ids["next"] > ids["kept"] + 1
    engine.dispose()
