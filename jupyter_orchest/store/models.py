"""The tables: one row per run, one per step of a run."""

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, ForeignKey, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .owners import this_process


class UTCDateTime(TypeDecorator[datetime]):
    """An aware moment, stored in UTC and read back aware: SQLite keeps no offsets, and
    comparisons in queries (e.g. which jobs are due) need one time zone throughout."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("moments are stored with their time zone")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=timezone.utc) if value is not None else None


class Base(DeclarativeBase):
    pass


class RunRecord(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    pipeline_uuid: Mapped[str] = mapped_column(String(255), index=True)
    pipeline_path: Mapped[str] = mapped_column(Text)
    project_dir: Mapped[str] = mapped_column(Text)
    run_type: Mapped[str] = mapped_column(String(16))
    selection: Mapped[list[str]] = mapped_column(JSON, default=list)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    owner: Mapped[str] = mapped_column(String(255), default=this_process, server_default="")
    """`host:pid` of the process running it (see `owners`)."""

    steps: Mapped[list["StepRunRecord"]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="StepRunRecord.position"
    )


class StepRunRecord(Base):
    __tablename__ = "step_runs"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    step_uuid: Mapped[str] = mapped_column(String(255), primary_key=True)
    position: Mapped[int] = mapped_column()
    """The step's place in the run's topological order."""
    title: Mapped[str] = mapped_column(Text)
    file_path: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    log_path: Mapped[str] = mapped_column(Text, default="")

    run: Mapped[RunRecord] = relationship(back_populates="steps")
