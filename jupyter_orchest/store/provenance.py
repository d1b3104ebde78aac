"""Provenance records (one per step run), the files step runs wrote, and execution logs (one
per step execution), in the runs' database. Not tied to the `runs` table by a foreign key: the
command line records the provenance of its runs without recording the runs themselves.

The files are a table of their own, read only where they are shown (a step's provenance), so
that listing runs never loads them; and a table added later than `step_provenance`, which
databases made before get as they are opened."""

from collections.abc import Iterable
from dataclasses import asdict, replace
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
    WrittenFile,
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


class StepFilesRecord(Base):
    """The files a step run wrote, and why its result was not cached, when it says."""

    __tablename__ = "step_files"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    step_uuid: Mapped[str] = mapped_column(String(255), primary_key=True)
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    not_cached: Mapped[str] = mapped_column(Text)


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
    """The engine's provenance ledger, in the runs' database."""

    def __init__(self, runs: RunStore) -> None:
        self.database = runs.database

    # Plain INSERTs: a restored step waits for its record, and the ORM's unit of work costs
    # several times as much.

    def record(self, provenance: StepProvenance) -> None:
        with self.database.begin() as connection:
            connection.execute(insert(ProvenanceRecord), [_to_row(provenance)])
            if provenance.files or provenance.not_cached:
                connection.execute(insert(StepFilesRecord), [_files_row(provenance)])

    def record_execution(self, log: StepExecutionLog) -> None:
        with self.database.begin() as connection:
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
        with self.database.read() as session:
            row = session.scalar(query)
            return self._with_files(session, row) if row is not None else None

    def get(self, run_id: str, step_uuid: str) -> StepProvenance | None:
        """The record with the files the step run wrote."""
        with self.database.read() as session:
            row = session.get(ProvenanceRecord, (run_id, step_uuid))
            return self._with_files(session, row) if row is not None else None

    def for_runs(
        self, run_ids: Iterable[str], with_files: bool = False
    ) -> dict[tuple[str, str], StepProvenance]:
        """The records of these runs, by (run id, step uuid); without the files they wrote
        unless asked."""
        run_ids = list(run_ids)
        query = select(ProvenanceRecord).where(ProvenanceRecord.run_id.in_(run_ids))
        with self.database.read() as session:
            found = {(row.run_id, row.step_uuid): from_row(row) for row in session.scalars(query)}
            if with_files:
                files = select(StepFilesRecord).where(StepFilesRecord.run_id.in_(run_ids))
                for row in session.scalars(files):
                    key = (row.run_id, row.step_uuid)
                    if key in found:
                        found[key] = _add_files(found[key], row)
        return found

    @staticmethod
    def _with_files(session: Any, row: ProvenanceRecord) -> StepProvenance:
        files = session.get(StepFilesRecord, (row.run_id, row.step_uuid))
        record = from_row(row)
        return _add_files(record, files) if files is not None else record

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
        with self.database.read() as session:
            return [from_row(row) for row in session.scalars(query)]

    def latest_run(self, pipeline_uuid: str) -> str | None:
        """The run of this pipeline that recorded provenance last."""
        query = (
            select(ProvenanceRecord.run_id)
            .where(ProvenanceRecord.pipeline_uuid == pipeline_uuid)
            .order_by(desc(ProvenanceRecord.finished_at))
            .limit(1)
        )
        with self.database.read() as session:
            run_id: str | None = session.scalar(query)
        return run_id

    def executions(self, run_id: str, step_uuid: str) -> list[StepExecutionLog]:
        query = (
            select(ExecutionLogRecord)
            .where(ExecutionLogRecord.run_id == run_id, ExecutionLogRecord.step_uuid == step_uuid)
            .order_by(ExecutionLogRecord.id)
        )
        with self.database.read() as session:
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


def _files_row(provenance: StepProvenance) -> dict[str, Any]:
    return dict(
        run_id=provenance.run_id,
        step_uuid=provenance.step_uuid,
        files=[
            {
                "root": f.root,
                "path": f.path,
                "size": f.size,
                "digest": f.digest,
                "shared_with": list(f.shared_with),
            }
            for f in provenance.files
        ],
        not_cached=provenance.not_cached,
    )


def _add_files(record: StepProvenance, row: StepFilesRecord) -> StepProvenance:
    files = tuple(
        WrittenFile(
            item["root"], item["path"], item["size"], item["digest"], tuple(item["shared_with"])
        )
        for item in row.files
    )
    return replace(record, files=files, not_cached=row.not_cached)


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
