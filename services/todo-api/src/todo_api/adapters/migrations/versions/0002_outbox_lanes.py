"""outbox lanes: interactive events are claimed before bulk ones

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The values of outbox_lanes.Lane and the types of INTERACTIVE_EVENT_TYPES when this was written;
# a migration must not change meaning when the code moves on.
INTERACTIVE, BULK = 0, 1
INTERACTIVE_EVENT_TYPES = ("CalendarRequested",)
PENDING = sa.text("published_at IS NULL")


def upgrade() -> None:
    op.add_column("outbox", sa.Column("lane", sa.SmallInteger(), nullable=False, server_default=sa.text(str(BULK))))
    outbox = sa.table("outbox", sa.column("lane"), sa.column("event_type"), sa.column("published_at"))
    op.execute(
        outbox.update()
        .where(outbox.c.published_at.is_(None), outbox.c.event_type.in_(INTERACTIVE_EVENT_TYPES))
        .values(lane=INTERACTIVE)
    )
    op.create_index("ix_outbox_pending", "outbox", ["lane", "id"], postgresql_where=PENDING, sqlite_where=PENDING)
    op.drop_index("ix_outbox_unpublished", table_name="outbox")


def downgrade() -> None:
    op.create_index("ix_outbox_unpublished", "outbox", ["published_at", "id"])
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_column("outbox", "lane")
