"""The job tables: one row per job, one per run a job made (the run itself is a `runs` row)."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, selectinload

from .database import RunStore
from .models import Base, RunRecord, StepRunRecord, UTCDateTime


class JobRecord(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    pipeline_uuid: Mapped[str] = mapped_column(String(255), index=True)
    pipeline_path: Mapped[str] = mapped_column(Text)
    """Relative to the server's root, as the user chose it."""
    project_dir: Mapped[str] = mapped_column(Text)
    folder: Mapped[str] = mapped_column(Text)
    """The job's own folder: its snapshot and its runs' copies."""
    status: Mapped[str] = mapped_column(String(16), index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    grid: Mapped[dict[str, Any]] = mapped_column(JSON)
    cron: Mapped[str | None] = mapped_column(String(255), default=None)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    next_fire_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    """When the job next makes runs; None when it never will again."""
    env_variables: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    max_retained_runs: Mapped[int] = mapped_column(Integer, default=0)
    """Finished runs kept (oldest removed past it, with their folders); 0 keeps them all."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class JobRunRecord(Base):
    __tablename__ = "job_runs"
    # A schedule's slot never makes a combination's run twice, even across restarts.
    __table_args__ = (UniqueConstraint("job_id", "slot", "number"),)

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    """The parameter combination's number in the job's grid."""
    slot: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    """The schedule slot that made it; None for a job without a schedule."""
    folder: Mapped[str] = mapped_column(Text)
    """The run's own copy of the snapshot."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class JobStore:
    """Jobs and the runs they made, in the runs' database."""

    def __init__(self, runs: RunStore) -> None:
        self.database = runs.database

    def add_job(self, job: JobRecord) -> None:
        with self.database.write() as session:
            session.add(job)

    def get_job(self, job_id: str) -> JobRecord | None:
        with self.database.read() as session:
            return session.get(JobRecord, job_id)

    def list_jobs(self, pipeline_uuid: str | None = None) -> list[JobRecord]:
        query = select(JobRecord).order_by(JobRecord.created_at.desc())
        if pipeline_uuid is not None:
            query = query.where(JobRecord.pipeline_uuid == pipeline_uuid)
        with self.database.read() as session:
            return list(session.scalars(query))

    def update_job(self, job_id: str, **values: Any) -> JobRecord | None:
        with self.database.write() as session:
            job = session.get(JobRecord, job_id)
            if job is not None:
                for name, value in values.items():
                    setattr(job, name, value)
            return job

    def delete_job(self, job_id: str) -> None:
        with self.database.write() as session:
            session.execute(delete(JobRecord).where(JobRecord.id == job_id))

    def scheduled_jobs(self, statuses: list[str]) -> list[JobRecord]:
        """Jobs in these statuses that will make runs."""
        query = select(JobRecord).where(
            JobRecord.status.in_(statuses), JobRecord.next_fire_at.is_not(None)
        )
        with self.database.read() as session:
            return list(session.scalars(query))

    def due_jobs(self, now: datetime, statuses: list[str]) -> list[JobRecord]:
        query = select(JobRecord).where(
            JobRecord.status.in_(statuses), JobRecord.next_fire_at <= now
        )
        with self.database.read() as session:
            return list(session.scalars(query))

    def fire(
        self,
        job_id: str,
        next_fire_at: datetime | None,
        status: str,
        runs: list[tuple[RunRecord, list[StepRunRecord], JobRunRecord]],
    ) -> bool:
        """Record a slot's runs and the job's next slot at once; False (nothing recorded) when
        this slot has made its runs already."""
        try:
            with self.database.write() as session:
                job = session.get(JobRecord, job_id)
                if job is None:
                    return False
                job.next_fire_at, job.status = next_fire_at, status
                for run, steps, job_run in runs:
                    run.steps = steps
                    session.add(run)
                    session.flush()  # the run's row first: the job's run refers to it
                    session.add(job_run)
        except IntegrityError:
            return False
        return True

    def job_runs(self, job_id: str) -> list[tuple[JobRunRecord, RunRecord]]:
        query = (
            select(JobRunRecord, RunRecord)
            .join(RunRecord, RunRecord.id == JobRunRecord.run_id)
            .where(JobRunRecord.job_id == job_id)
            .options(selectinload(RunRecord.steps))
            .order_by(JobRunRecord.created_at, JobRunRecord.number)
        )
        with self.database.read() as session:
            return [(job_run, run) for job_run, run in session.execute(query)]

    def remove_runs(self, run_ids: list[str]) -> None:
        with self.database.write() as session:
            session.execute(delete(JobRunRecord).where(JobRunRecord.run_id.in_(run_ids)))
            for run_id in run_ids:
                run = session.get(RunRecord, run_id)
                if run is not None:
                    session.delete(run)
