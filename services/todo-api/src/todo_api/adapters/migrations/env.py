"""Alembic environment. database.upgrade_to_latest passes its own connection; the alembic CLI
(for writing new revisions) connects with the `sqlalchemy.url` from its config instead."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from todo_api.adapters.orm import metadata


def run_migrations(connection) -> None:
    # Batch mode lets ALTER TABLE work on SQLite, which cannot alter most columns in place.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


given_connection = context.config.attributes.get("connection")
if given_connection is not None:
    run_migrations(given_connection)
else:
    settings = context.config.get_section(context.config.config_ini_section, {})
    with engine_from_config(settings, prefix="sqlalchemy.", poolclass=pool.NullPool).connect() as connection:
        run_migrations(connection)
