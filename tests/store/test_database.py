"""The run store on a real SQLite file: records, state changes, and recovery after a restart."""

from datetime import datetime, timezone
from pathlib import Path

from jupyter_orchest.engine.events import RunChanged, StepChanged
from jupyter_orchest.engine.model import RunState, StepState
from jupyter_orchest.store import RunRecord, RunStore, StepRunRecord
from jupyter_orchest.store.database import sqlite_url

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def add_run(store: RunStore, run_id: str, state: RunState = RunState.PENDING) -> None:
    store.add_run(
        RunRecord(
            id=run_id,
            pipeline_uuid="p",
            pipeline_path="p.orchest",
            project_dir="/project",
            run_type="all",
            selection=[],
            parameters={},
            state=state.value,
            message="",
            created_at=NOW,
        ),
        [
            StepRunRecord(
                step_uuid=uuid,
                position=i,
                title=uuid,
                file_path=f"{uuid}.py",
                state=StepState.PENDING.value,
            )
            for i, uuid in enumerate(["a", "b"])
        ],
    )


def test_state_changes_are_recorded_with_their_times(tmp_path: Path) -> None:
    store = RunStore(sqlite_url(tmp_path / "runs.db"))
    add_run(store, "r1")
    store.run_changed(RunChanged("r1", "p", RunState.STARTED, NOW))
    store.step_changed(StepChanged("r1", "p", "a", "a", StepState.RUNNING, NOW))
    store.step_changed(StepChanged("r1", "p", "a", "a", StepState.FAILURE, NOW, "boom"))
    store.run_changed(RunChanged("r1", "p", RunState.FAILURE, NOW, "Failed: a."))

    run = RunStore(sqlite_url(tmp_path / "runs.db")).get_run("r1")  # a new connection
    assert run is not None
    assert run.state == "FAILURE" and run.message == "Failed: a."
    assert run.started_at is not None and run.finished_at is not None
    first, second = run.steps
    assert (first.state, first.message) == ("FAILURE", "boom")
    assert first.started_at is not None and first.finished_at is not None
    assert second.state == "PENDING"


def test_runs_in_flight_at_a_restart_are_aborted_with_the_reason(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "runs.db")
    store = RunStore(url)
    add_run(store, "running", RunState.STARTED)
    add_run(store, "done", RunState.SUCCESS)
    store.step_changed(StepChanged("running", "p", "a", "a", StepState.RUNNING, NOW))

    restarted = RunStore(url)
    assert restarted.abort_unfinished("server stopped") == ["running"]
    run = restarted.get_run("running")
    assert run is not None and run.state == "ABORTED" and run.message == "server stopped"
    assert [step.state for step in run.steps] == ["ABORTED", "ABORTED"]
    done = restarted.get_run("done")
    assert done is not None and done.state == "SUCCESS"


def test_runs_are_listed_newest_first_per_pipeline(tmp_path: Path) -> None:
    store = RunStore(sqlite_url(tmp_path / "runs.db"))
    add_run(store, "r1")
    add_run(store, "r2")
    assert {run.id for run in store.list_runs("p")} == {"r1", "r2"}
    assert store.list_runs("other") == []
