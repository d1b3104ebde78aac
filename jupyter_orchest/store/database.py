"""Reading and writing run records."""

from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from sqlalchemy import create_engine, event, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import selectinload, sessionmaker

from ..engine.events import RunChanged, StepChanged, StepLogged
from ..engine.model import RunState, StepState
from .models import Base, RunRecord, StepRunRecord


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def default_database_url() -> str:
    """SQLite in Jupyter's data folder: the server's default, and the command line's, so that
    both see the same environment builds."""
    folder = Path(jupyter_data_dir()) / "orchest"
    folder.mkdir(parents=True, exist_ok=True)
    return sqlite_url(folder / "orchest.db")


def _enable_sqlite_wal(engine: Engine) -> None:
    # WAL lets the UI read run states while a run writes them.
    @event.listens_for(engine, "connect")
    def set_pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL cannot corrupt the database; a power loss may lose the last
        # state changes only. Without it every state change waits for the disk.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


class RunStore:
    """Runs and step runs; also an observer that records every state change."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            _enable_sqlite_wal(self.engine)
        Base.metadata.create_all(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def add_run(self, run: RunRecord, steps: Iterable[StepRunRecord]) -> None:
        with self.sessions.begin() as session:
            run.steps = list(steps)
            session.add(run)

    def get_run(self, run_id: str) -> RunRecord | None:
        with self.sessions() as session:
            return session.scalar(
                select(RunRecord)
                .where(RunRecord.id == run_id)
                .options(selectinload(RunRecord.steps))
            )

    def list_runs(self, pipeline_uuid: str | None = None, limit: int = 50) -> list[RunRecord]:
        query = select(RunRecord).options(selectinload(RunRecord.steps))
        if pipeline_uuid is not None:
            query = query.where(RunRecord.pipeline_uuid == pipeline_uuid)
        with self.sessions() as session:
            return list(session.scalars(query.order_by(RunRecord.created_at.desc()).limit(limit)))

    def abort_unfinished(self, reason: str) -> list[str]:
        """Mark runs that were in flight when the server stopped as aborted, with the reason."""
        now = datetime.now(timezone.utc)
        unfinished = [RunState.PENDING.value, RunState.STARTED.value]
        with self.sessions.begin() as session:
            runs = list(session.scalars(select(RunRecord).where(RunRecord.state.in_(unfinished))))
            for run in runs:
                run.state, run.message, run.finished_at = RunState.ABORTED.value, reason, now
                for step in run.steps:
                    if not StepState(step.state).finished and step.state != StepState.READY:
                        step.state, step.message = StepState.ABORTED.value, reason
                        step.finished_at = now
            return [run.id for run in runs]

    # The observer side: every state change of a run is written as it happens.

    # Plain UPDATE statements: a state change is written while the run waits for it, and the
    # ORM's load-then-flush costs several times as much.

    def run_changed(self, event: RunChanged) -> None:
        values: dict[str, Any] = {"state": event.state.value, "message": event.message}
        if event.state == RunState.STARTED:
            values["started_at"] = event.at
        elif event.state.finished:
            values["finished_at"] = event.at
        with self.engine.begin() as connection:
            connection.execute(
                update(RunRecord).where(RunRecord.id == event.run_id).values(**values)
            )

    def step_changed(self, event: StepChanged) -> None:
        if event.state == StepState.PENDING:
            return  # how every step is recorded when its run is added (a write saved per step)
        values: dict[str, Any] = {"state": event.state.value, "message": event.message}
        if event.state == StepState.RUNNING:
            values["started_at"] = event.at
        elif event.state.finished:
            values["finished_at"] = event.at
        step = (StepRunRecord.run_id == event.run_id) & (StepRunRecord.step_uuid == event.step_uuid)
        with self.engine.begin() as connection:
            connection.execute(update(StepRunRecord).where(step).values(**values))

    def step_logged(self, event: StepLogged) -> None:
        pass  # logs live in files, not in the database
