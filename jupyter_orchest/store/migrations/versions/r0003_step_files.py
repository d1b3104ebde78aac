"""The files each step run wrote in its project and data folders, which the cache keeps and
restores, and why a step's result was not cached when it says.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "step_files",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("step_uuid", sa.String(255), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("not_cached", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "step_uuid"),
    )
