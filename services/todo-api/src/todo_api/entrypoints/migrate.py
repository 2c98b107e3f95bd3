"""`todo-api-migrate`: bring the database schema to the latest Alembic revision."""

from __future__ import annotations

import sys

import structlog

from taskoverflow_shared.logging_setup import configure_logging
from taskoverflow_shared.settings import SettingsError
from taskoverflow_shared.worker_runtime import EXIT_INVALID_CONFIGURATION
from todo_api.adapters.database import make_engine, upgrade_to_latest
from todo_api.config import Settings


def main() -> int:
    configure_logging("todo-api-migrate")
    try:
        settings = Settings.from_environment()
    except SettingsError as invalid:
        print(invalid, file=sys.stderr)
        return EXIT_INVALID_CONFIGURATION
    upgrade_to_latest(make_engine(settings.database_url))
    structlog.get_logger("todo_api.migrate").info("database_migrated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
