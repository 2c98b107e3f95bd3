"""calendar job sweeper: indexes for its two questions, overdue jobs and expired finished jobs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The statuses a job ends in (domain.model.JobStatus) when this was written.
UNFINISHED = sa.text("status NOT IN ('SUCCESS', 'FAILURE')")


def upgrade() -> None:
    # Partial: only the few unfinished jobs, however many finished ones pile up before retention.
    op.create_index(
        "ix_calendar_jobs_unfinished",
        "calendar_jobs",
        ["requested_at"],
        postgresql_where=UNFINISHED,
        sqlite_where=UNFINISHED,
    )
    op.create_index("ix_calendar_jobs_finished_at", "calendar_jobs", ["finished_at"])


def downgrade() -> None:
    op.drop_index("ix_calendar_jobs_finished_at", table_name="calendar_jobs")
    op.drop_index("ix_calendar_jobs_unfinished", table_name="calendar_jobs")
