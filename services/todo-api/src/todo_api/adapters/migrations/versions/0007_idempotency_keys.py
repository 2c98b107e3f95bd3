"""idempotency_keys: what a request sent with an Idempotency-Key did, to answer its repeats

A client that got no answer, or a 503 while its commit went through, sends the request again
with the same key; the stored answer makes the repeat change nothing. Rows older than
IDEMPOTENCY_KEY_RETENTION_HOURS are deleted by the sweeper, oldest first (the index).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("owner", sa.String(255), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_idempotency_keys_received_at", "idempotency_keys", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_received_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
