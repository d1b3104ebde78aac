"""Runs carry their owner (`host:pid` of the server that runs them), as builds do: a server
aborts the unfinished runs of servers that stopped, never those of one still running.

Runs recorded before have no owner, so they count as a stopped server's.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("runs") as runs:
        runs.add_column(sa.Column("owner", sa.String(255), nullable=False, server_default=""))
