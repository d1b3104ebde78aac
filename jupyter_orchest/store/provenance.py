"""Provenance records (one per step run) and execution logs (one per step execution), in the
runs' database. Not tied to the `runs` table by a foreign key: the command line records the
provenance of its runs without recording the runs themselves."""

from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text, desc, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from ..engine.provenance import (
    InputDigest,
    KeyParts,
    OutputDigest,
    StepExecutionLog,
    StepProvenance,
)
from .database import RunStore
from .models import Base, UTCDateTime


class ProvenanceRecord(Base):
    __tablename__ = "step_provenance"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    step_uuid: Mapped[str] = mapped_column(String(255), primary_key=True)
    pipeline_uuid: Mapped[str] = mapped_column(String(255), index=True)
    title: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(String(64), index=True)
    parts: Mapped[dict[str, Any]] = mapped_column(JSON)
    inputs: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    outputs: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    outputs_digest: Mapped[str] = mapped_column(String(64))
    notebook_digest: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    cached: Mapped[bool] = mapped_column(Boolean)
    source_run_id: Mapped[str] = mapped_column(String(64))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    environment_uuid: Mapped[str] = mapped_column(String(255))
    executor: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255))
    git_commit: Mapped[str] = mapped_column(String(64))
    project_dir: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ExecutionLogRecord(Base):
    """Orcapod's observer log: one row per step execution, tied to its provenance record."""

    __tablename__ = "step_executions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    step_uuid: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    stdout: Mapped[str] = mapped_column(Text)
    stderr: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
    success: Mapped[bool] = mapped_column(Boolean)


class ProvenanceStore:
    """The engine's provenance ledger, in the database of `sessions`."""

    def __init__(self, runs: RunStore) -> None:
        self.sessions, self.engine = runs.sessions, runs.engine
        tables = [ProvenanceRecord.__table__, ExecutionLogRecord.__table__]
        Base.metadata.create_all(runs.engine, tables=tables)  # type: ignore[arg-type]

    def record(self, provenance: StepProvenance, log: StepExecutionLog | None) -> None:
        # Plain INSERTs: a restored step waits for its record, and the ORM's unit of work
        # costs several times as much.
        with self.engine.begin() as connection:
            connection.execute(insert(ProvenanceRecord), [_to_row(provenance)])
            if log is not None:
                connection.execute(insert(ExecutionLogRecord), [asdict(log)])

    def previous(self, pipeline_uuid: str, step_uuid: str) -> StepProvenance | None:
        query = (
            select(ProvenanceRecord)
            .where(
                ProvenanceRecord.pipeline_uuid == pipeline_uuid,
                ProvenanceRecord.step_uuid == step_uuid,
                ProvenanceRecord.state == "COMPUTED",
            )
            .order_by(desc(ProvenanceRecord.finished_at))
            .limit(1)
        )
        with self.sessions() as session:
            row = session.scalar(query)
        return from_row(row) if row is not None else None

    def get(self, run_id: str, step_uuid: str) -> StepProvenance | None:
        with self.sessions() as session:
            row = session.get(ProvenanceRecord, (run_id, step_uuid))
        return from_row(row) if row is not None else None

    def for_runs(self, run_ids: Iterable[str]) -> dict[tuple[str, str], StepProvenance]:
        """The records of these runs, by (run id, step uuid)."""
        query = select(ProvenanceRecord).where(ProvenanceRecord.run_id.in_(list(run_ids)))
        with self.sessions() as session:
            return {(row.run_id, row.step_uuid): from_row(row) for row in session.scalars(query)}

    def history(self, pipeline_uuid: str, step_uuid: str, limit: int = 20) -> list[StepProvenance]:
        """The step's records, newest first."""
        query = (
            select(ProvenanceRecord)
            .where(
                ProvenanceRecord.pipeline_uuid == pipeline_uuid,
                ProvenanceRecord.step_uuid == step_uuid,
            )
            .order_by(desc(ProvenanceRecord.finished_at))
            .limit(limit)
        )
        with self.sessions() as session:
            return [from_row(row) for row in session.scalars(query)]

    def latest_run(self, pipeline_uuid: str) -> str | None:
        """The run of this pipeline that recorded provenance last."""
        query = (
            select(ProvenanceRecord.run_id)
            .where(ProvenanceRecord.pipeline_uuid == pipeline_uuid)
            .order_by(desc(ProvenanceRecord.finished_at))
            .limit(1)
        )
        with self.sessions() as session:
            run_id: str | None = session.scalar(query)
        return run_id

    def executions(self, run_id: str, step_uuid: str) -> list[StepExecutionLog]:
        query = (
            select(ExecutionLogRecord)
            .where(ExecutionLogRecord.run_id == run_id, ExecutionLogRecord.step_uuid == step_uuid)
            .order_by(ExecutionLogRecord.id)
        )
        with self.sessions() as session:
            return [
                StepExecutionLog(
                    run_id=row.run_id,
                    step_uuid=row.step_uuid,
                    title=row.title,
                    at=row.at,
                    stdout=row.stdout,
                    stderr=row.stderr,
                    traceback=row.traceback,
                    error=row.error,
                    success=row.success,
                )
                for row in session.scalars(query)
            ]


def _to_row(provenance: StepProvenance) -> dict[str, Any]:
    parts = provenance.parts
    return dict(
        run_id=provenance.run_id,
        step_uuid=provenance.step_uuid,
        pipeline_uuid=provenance.pipeline_uuid,
        title=provenance.title,
        key=provenance.key,
        parts=parts.to_json(),
        inputs=[
            {"step_uuid": i.step_uuid, "title": i.title, "digest": i.digest, "run_id": i.run_id}
            for i in parts.inputs
        ],
        outputs=[
            {"name": o.name, "serialization": o.serialization, "digest": o.digest, "size": o.size}
            for o in provenance.outputs
        ],
        outputs_digest=provenance.outputs_digest,
        notebook_digest=provenance.notebook_digest,
        state=provenance.state,
        message=provenance.message,
        cached=provenance.cached,
        source_run_id=provenance.source_run_id,
        reasons=list(provenance.reasons),
        environment_uuid=provenance.environment_uuid,
        executor=provenance.executor,
        host=provenance.host,
        git_commit=provenance.git_commit,
        project_dir=provenance.project_dir,
        started_at=provenance.started_at,
        finished_at=provenance.finished_at,
    )


def from_row(row: ProvenanceRecord) -> StepProvenance:
    parts = row.parts
    return StepProvenance(
        run_id=row.run_id,
        pipeline_uuid=row.pipeline_uuid,
        step_uuid=row.step_uuid,
        title=row.title,
        key=row.key,
        parts=KeyParts(
            step_uuid=row.step_uuid,
            file_path=parts["file_path"],
            code=parts["code"],
            kernel=parts["kernel"],
            step_parameters=parts["step_parameters"],
            pipeline_parameters=parts["pipeline_parameters"],
            environment=parts["environment"],
            inputs=tuple(InputDigest(**item) for item in row.inputs),
            env_variables=parts.get("env_variables", {}),  # none recorded before there were
        ),
        state=row.state,
        message=row.message,
        cached=row.cached,
        source_run_id=row.source_run_id,
        reasons=tuple(row.reasons),
        outputs=tuple(OutputDigest(**item) for item in row.outputs),
        outputs_digest=row.outputs_digest,
        notebook_digest=row.notebook_digest,
        environment_uuid=row.environment_uuid,
        executor=row.executor,
        host=row.host,
        git_commit=row.git_commit,
        project_dir=row.project_dir,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )
