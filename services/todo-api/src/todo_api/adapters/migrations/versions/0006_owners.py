"""todos and calendar jobs belong to a user: an `owner` column (the token's `sub`)

NULL means created without authentication (`make run`, and every row from before): such rows
are what an unauthenticated API shows, as it always did. A user's list is read by owner, so
todos get an index on (owner, id): the list is ordered by id.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column without a default: PostgreSQL and SQLite both add it without a rewrite.
    op.add_column("todos", sa.Column("owner", sa.String(255), nullable=True))
    op.add_column("calendar_jobs", sa.Column("owner", sa.String(255), nullable=True))
    op.create_index("ix_todos_owner_id", "todos", ["owner", "id"])


def downgrade() -> None:
    op.drop_index("ix_todos_owner_id", table_name="todos")
    # SQLite drops a column only by rebuilding the table: batch mode does that, keeping the
    # todos table's AUTOINCREMENT (0003).
    with op.batch_alter_table("calendar_jobs") as batch:
        batch.drop_column("owner")
    with op.batch_alter_table("todos", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("owner")
