"""todo ids are never reused: SQLite's todos table gets AUTOINCREMENT

Without it SQLite hands the id of a deleted newest todo to the next one, so two todos share an
id, a subject (`todos/<id>`) and its versions: consumers that skip versions they have seen would
skip the second todo's events, and a client holding the old id would change the new todo.
PostgreSQL's identity sequence never reuses a value; nothing changes there.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("todos", recreate="always", table_kwargs={"sqlite_autoincrement": True}):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("todos", recreate="always", table_kwargs={"sqlite_autoincrement": False}):
        pass
