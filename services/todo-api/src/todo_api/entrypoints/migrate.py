"""`todo-api-migrate`: bring the database schema to the latest Alembic revision and, given
APP_DB_USERNAME and APP_DB_PASSWORD on PostgreSQL, create or update the application's role and
its grants (adapters/app_role.py; infra/terraform/README.md, "The migration step")."""

from __future__ import annotations

import sys

import structlog

from taskoverflow_shared.logging_setup import configure_logging
from taskoverflow_shared.settings import SettingsError
from taskoverflow_shared.worker_runtime import EXIT_INVALID_CONFIGURATION
from todo_api.adapters.app_role import AppRole
from todo_api.adapters.database import make_engine, upgrade_to_latest
from todo_api.config import MigrationSettings

log = structlog.get_logger("todo_api.migrate")


def main() -> int:
    configure_logging("todo-api-migrate")
    try:
        settings = MigrationSettings.from_environment()
    except SettingsError as invalid:
        print(invalid, file=sys.stderr)
        return EXIT_INVALID_CONFIGURATION
    engine = make_engine(settings.database_url)
    app_role = None
    if settings.app_db_username:
        app_role = AppRole(settings.app_db_username, settings.app_db_password.get_secret_value())
        if engine.dialect.name != "postgresql":
            log.warning("app_role_skipped", reason=f"roles are PostgreSQL's; the database is {engine.dialect.name}")
    upgrade_to_latest(engine, app_role)
    log.info("database_migrated", app_role=settings.app_db_username or None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
