"""The schema as it was before it had versions.

A database made then has these tables, or some of them (each program made those it used):
the ones it has are kept as they are, the missing ones are made.

Revision ID: 0001
"""

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for table, create in TABLES.items():
        if table not in existing:
            create()


def _runs() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("pipeline_uuid", sa.String(255), nullable=False),
        sa.Column("pipeline_path", sa.Text(), nullable=False),
        sa.Column("project_dir", sa.Text(), nullable=False),
        sa.Column("run_type", sa.String(16), nullable=False),
        sa.Column("selection", sa.JSON(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_runs_state", "runs", ["state"])
    op.create_index("ix_runs_pipeline_uuid", "runs", ["pipeline_uuid"])


def _step_runs() -> None:
    op.create_table(
        "step_runs",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("step_uuid", sa.String(255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("file_path", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("log_path", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "step_uuid"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
    )


def _environment_builds() -> None:
    op.create_table(
        "environment_builds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_dir", sa.Text(), nullable=False),
        sa.Column("environment_uuid", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("backend", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(128), nullable=False),
        sa.Column("inputs_hash", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("removed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_dir", "environment_uuid", "number"),
    )
    op.create_index("ix_environment_builds_project_dir", "environment_builds", ["project_dir"])
    op.create_index("ix_environment_builds_state", "environment_builds", ["state"])


def _jobs() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("pipeline_uuid", sa.String(255), nullable=False),
        sa.Column("pipeline_path", sa.Text(), nullable=False),
        sa.Column("project_dir", sa.Text(), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("grid", sa.JSON(), nullable=False),
        sa.Column("cron", sa.String(255), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("start_at", sa.DateTime(), nullable=True),
        sa.Column("next_fire_at", sa.DateTime(), nullable=True),
        sa.Column("env_variables", sa.JSON(), nullable=False),
        sa.Column("max_retained_runs", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_jobs_pipeline_uuid", "jobs", ["pipeline_uuid"])
    op.create_index("ix_jobs_status", "jobs", ["status"])


def _job_runs() -> None:
    op.create_table(
        "job_runs",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("slot", sa.DateTime(), nullable=True),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("run_id"),
        sa.UniqueConstraint("job_id", "slot", "number"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"]),
    )
    op.create_index("ix_job_runs_job_id", "job_runs", ["job_id"])


def _step_provenance() -> None:
    op.create_table(
        "step_provenance",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("step_uuid", sa.String(255), nullable=False),
        sa.Column("pipeline_uuid", sa.String(255), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("outputs_digest", sa.String(64), nullable=False),
        sa.Column("notebook_digest", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("cached", sa.Boolean(), nullable=False),
        sa.Column("source_run_id", sa.String(64), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("environment_uuid", sa.String(255), nullable=False),
        sa.Column("executor", sa.String(255), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("git_commit", sa.String(64), nullable=False),
        sa.Column("project_dir", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "step_uuid"),
    )
    op.create_index("ix_step_provenance_finished_at", "step_provenance", ["finished_at"])
    op.create_index("ix_step_provenance_pipeline_uuid", "step_provenance", ["pipeline_uuid"])
    op.create_index("ix_step_provenance_key", "step_provenance", ["key"])


def _step_executions() -> None:
    op.create_table(
        "step_executions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("step_uuid", sa.String(255), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("stdout", sa.Text(), nullable=False),
        sa.Column("stderr", sa.Text(), nullable=False),
        sa.Column("traceback", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_step_executions_run_id", "step_executions", ["run_id"])


TABLES: dict[str, Callable[[], None]] = {
    # In an order that makes every table after those its foreign keys point at.
    "runs": _runs,
    "step_runs": _step_runs,
    "environment_builds": _environment_builds,
    "jobs": _jobs,
    "job_runs": _job_runs,
    "step_provenance": _step_provenance,
    "step_executions": _step_executions,
}
