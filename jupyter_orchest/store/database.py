"""Reading and writing run records."""

from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import selectinload

from ..engine.events import RunChanged, StepChanged, StepLogged
from ..engine.model import RunState, StepState
from .connection import UNFINISHED, Database
from .errors import DatabaseUnavailable
from .models import Base, RunRecord, StepRunRecord
from .owners import process_is_gone


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def default_database_url() -> str:
    """SQLite in Jupyter's data folder: the server's default, and the command line's, so that
    both see the same environment builds."""
    folder = Path(jupyter_data_dir()) / "orchest"
    folder.mkdir(parents=True, exist_ok=True)
    return sqlite_url(folder / "orchest.db")


class RunStore:
    """Runs and step runs; also an observer that records every state change. Its `database`
    is shared with the other stores."""

    def __init__(self, url: str) -> None:
        self.database = Database(url)

    def add_run(self, run: RunRecord, steps: Iterable[StepRunRecord]) -> None:
        """Add the run and its steps (also kept as `run.steps`, for its caller to answer
        with), in plain INSERTs: a run waits for them before it starts."""
        run.steps = list(steps)
        with self.database.begin() as connection:
            connection.execute(insert(RunRecord), [_column_values(run)])
            if run.steps:
                rows = [{**_column_values(step), "run_id": run.id} for step in run.steps]
                connection.execute(insert(StepRunRecord), rows)

    def get_run(self, run_id: str) -> RunRecord | None:
        with self.database.read() as session:
            return session.scalar(
                select(RunRecord)
                .where(RunRecord.id == run_id)
                .options(selectinload(RunRecord.steps))
            )

    def list_runs(self, pipeline_uuid: str | None = None, limit: int = 50) -> list[RunRecord]:
        query = select(RunRecord).options(selectinload(RunRecord.steps))
        if pipeline_uuid is not None:
            query = query.where(RunRecord.pipeline_uuid == pipeline_uuid)
        with self.database.read() as session:
            return list(session.scalars(query.order_by(RunRecord.created_at.desc()).limit(limit)))

    def abort_orphaned(self, reason: str) -> list[str]:
        """Mark runs whose server stopped before they finished as aborted, with the reason.
        The runs of a server still running (another one on the same database) are its own."""
        now = datetime.now(timezone.utc)
        with self.database.write() as session:
            unfinished = session.scalars(select(RunRecord).where(RunRecord.state.in_(UNFINISHED)))
            orphaned = [run for run in unfinished if process_is_gone(run.owner)]
            for run in orphaned:
                run.state, run.message, run.finished_at = RunState.ABORTED.value, reason, now
                for step in run.steps:
                    if not StepState(step.state).finished and step.state != StepState.READY:
                        step.state, step.message = StepState.ABORTED.value, reason
                        step.finished_at = now
            return [run.id for run in orphaned]

    # The observer side: every state change of a run is written as it happens, while the run
    # waits for it: with statements built once (building one costs several times as much as
    # running it), and bound values. A change the database refuses is not recorded (the
    # database logs why); the run goes on.

    def run_changed(self, event: RunChanged) -> None:
        values: dict[str, Any] = {"state": event.state.value, "message": event.message}
        if event.state == RunState.STARTED:
            values["started_at"] = event.at
        elif event.state.finished:
            values["finished_at"] = event.at
        statement = _UPDATE_RUN[_moment_column(values)]
        self._write(statement, {"id_": event.run_id, **values})

    def step_changed(self, event: StepChanged) -> None:
        if event.state == StepState.PENDING:
            return  # how every step is recorded when its run is added (a write saved per step)
        values: dict[str, Any] = {"state": event.state.value, "message": event.message}
        if event.state == StepState.RUNNING and event.attempt == 1:  # the step's start
            values["started_at"] = event.at
        elif event.state.finished:
            values["finished_at"] = event.at
        step = {"run_id_": event.run_id, "step_uuid_": event.step_uuid}
        self._write(_UPDATE_STEP[_moment_column(values)], {**step, **values})

    def step_logged(self, event: StepLogged) -> None:
        pass  # logs live in files, not in the database

    def _write(self, statement: Any, values: dict[str, Any]) -> None:
        try:
            with self.database.begin() as connection:
                connection.execute(statement, values)
        except DatabaseUnavailable:
            pass


def _column_values(record: Base) -> dict[str, Any]:
    """A new record's values by column, with the columns' defaults for those not set."""
    values = {}
    for column in record.__table__.columns:
        value, default = getattr(record, column.key), column.default
        if value is None and default is not None:
            value = default.arg(None) if default.is_callable else default.arg
        values[column.key] = value
    return values


def _moment_column(values: dict[str, Any]) -> str | None:
    return next((name for name in ("started_at", "finished_at") if name in values), None)


def _updates(table: Any, where: Any) -> dict[str | None, Any]:
    """UPDATEs of a row's state and message, and of one moment or none, by that moment's
    column; the row's key is bound as `<column>_`."""
    return {
        moment: update(table)
        .where(where)
        .values(
            state=bindparam("state"),
            message=bindparam("message"),
            **({moment: bindparam(moment)} if moment else {}),
        )
        for moment in (None, "started_at", "finished_at")
    }


_UPDATE_RUN = _updates(RunRecord, RunRecord.id == bindparam("id_"))
_UPDATE_STEP = _updates(
    StepRunRecord,
    (StepRunRecord.run_id == bindparam("run_id_"))
    & (StepRunRecord.step_uuid == bindparam("step_uuid_")),
)
