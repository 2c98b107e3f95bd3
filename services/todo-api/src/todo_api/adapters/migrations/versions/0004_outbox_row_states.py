"""outbox row states: a row the relay cannot publish is parked with its reason; the completed
envelope is kept; published rows can be found by age for retention

A row is pending (published_at and parked_at unset), published (published_at set) or parked
(parked_at set, with parked_reason). `attempts` and `last_error` count the row's own failures;
`completed_at` says `envelope` already holds what the relay completed (the calendar request
with its todos or snapshot reference), so a re-publish sends exactly those bytes again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

PENDING_BEFORE = sa.text("published_at IS NULL")
PENDING = sa.text("published_at IS NULL AND parked_at IS NULL")
PUBLISHED = sa.text("published_at IS NOT NULL")
PARKED = sa.text("parked_at IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("outbox") as outbox:
        outbox.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")))
        outbox.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        outbox.add_column(sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True))
        outbox.add_column(sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True))
        outbox.add_column(sa.Column("parked_reason", sa.Text(), nullable=True))
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.create_index("ix_outbox_pending", "outbox", ["lane", "id"], postgresql_where=PENDING, sqlite_where=PENDING)
    op.create_index(
        "ix_outbox_published_at", "outbox", ["published_at"], postgresql_where=PUBLISHED, sqlite_where=PUBLISHED
    )
    op.create_index("ix_outbox_parked", "outbox", ["id"], postgresql_where=PARKED, sqlite_where=PARKED)


def downgrade() -> None:
    # Parked rows become pending again: the relay before this revision knows no other state.
    op.drop_index("ix_outbox_parked", table_name="outbox")
    op.drop_index("ix_outbox_published_at", table_name="outbox")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.create_index(
        "ix_outbox_pending", "outbox", ["lane", "id"], postgresql_where=PENDING_BEFORE, sqlite_where=PENDING_BEFORE
    )
    with op.batch_alter_table("outbox") as outbox:
        outbox.drop_column("parked_reason")
        outbox.drop_column("parked_at")
        outbox.drop_column("completed_at")
        outbox.drop_column("last_error")
        outbox.drop_column("attempts")
