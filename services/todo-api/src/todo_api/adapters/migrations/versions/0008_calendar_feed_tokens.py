"""calendar_feed_tokens: per owner, the SHA-256 of the token in their calendar feed's URL

The token itself is never stored: a leaked table opens no feed. The unique digest is how a
feed request finds its owner; rotating replaces the owner's row.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_feed_tokens",
        sa.Column("owner", sa.String(255), primary_key=True),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("calendar_feed_tokens")
