"""Engine, sessions and migrations for SQLite (the zero-setup default) and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from todo_api.adapters.app_role import AppRole, grant_app_role

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK_KEY = 0x7A5C0F10  # any constant shared by all todo-api processes

# Without limits, a database that stops answering holds every request thread (and the relay and
# the consumer) until the kernel gives up, minutes later. With them a request fails within
# seconds, and the API answers 503 with Retry-After.
POSTGRESQL_LIMITS = {
    "connect_timeout": 5,  # seconds to open a connection
    "options": "-c statement_timeout=15000 -c lock_timeout=5000",  # ms per statement / lock wait
    "tcp_user_timeout": 15000,  # ms of unacknowledged data before a silent peer counts as gone
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 3,
    "keepalives_count": 3,
}
POOL_TIMEOUT_SECONDS = 10  # waiting for a free pooled connection
# What SQLAlchemy raises when the database cannot be reached, does not answer in time, or has no
# connection free: the request or event was fine and may succeed later (503, or wait it out).
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=10,
            max_overflow=10,
            pool_timeout=POOL_TIMEOUT_SECONDS,
            connect_args=POSTGRESQL_LIMITS,
        )
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 15})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(connection, _record) -> None:
        # WAL lets the API, the relay and the consumer read while one of them writes.
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def upgrade_to_latest(engine: Engine, app_role: AppRole | None = None) -> None:
    """The schema at the latest revision; then, on PostgreSQL, `app_role` created or updated with
    its grants (app_role.py), in the same transaction and under the same lock."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Every todo-api task migrates at start; the lock makes simultaneous starts take turns.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        if app_role is not None and connection.dialect.name == "postgresql":
            grant_app_role(connection, app_role)


def database_answers(engine: Engine) -> None:
    """Raises one of DATABASE_UNAVAILABLE unless the database answers a trivial query."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
