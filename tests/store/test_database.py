"""The run store on real databases (a SQLite file, and PostgreSQL when a server is given):
records, state changes, and recovery after a restart."""

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from jupyter_orchest.engine.events import RunChanged, StepChanged
from jupyter_orchest.engine.model import RunState, StepState
from jupyter_orchest.store import RunStore
from jupyter_orchest.store.owners import this_process
from support import NOW, add_run

HOST = socket.gethostname()


@pytest.fixture
def live_process() -> Iterator[str]:
    """The owner of a process that runs until the test ends."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    yield f"{HOST}:{process.pid}"
    process.kill()
    process.wait()


@pytest.fixture
def dead_process() -> str:
    """The owner of a process that has ended."""
    process = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return f"{HOST}:{process.stdout.strip()}"


def test_state_changes_are_recorded_with_their_times(database_url: str) -> None:
    store = RunStore(database_url)
    add_run(store, "r1")
    store.run_changed(RunChanged("r1", "p", RunState.STARTED, NOW))
    store.step_changed(StepChanged("r1", "p", "a", "a", StepState.RUNNING, NOW))
    store.step_changed(StepChanged("r1", "p", "a", "a", StepState.FAILURE, NOW, "boom"))
    store.run_changed(RunChanged("r1", "p", RunState.FAILURE, NOW, "Failed: a."))

    run = RunStore(database_url).get_run("r1")  # a new connection
    assert run is not None
    assert run.state == "FAILURE" and run.message == "Failed: a."
    assert run.started_at == NOW and run.finished_at == NOW
    first, second = run.steps
    assert (first.state, first.message) == ("FAILURE", "boom")
    assert first.started_at == NOW and first.finished_at == NOW
    assert second.state == "PENDING"


def test_a_run_is_owned_by_the_process_that_adds_it(database_url: str) -> None:
    store = RunStore(database_url)
    add_run(store, "r1")
    run = store.get_run("r1")
    assert run is not None and run.owner == this_process()


def test_only_the_unfinished_runs_of_stopped_servers_are_aborted(
    database_url: str, live_process: str, dead_process: str
) -> None:
    store = RunStore(database_url)
    add_run(store, "dead", RunState.STARTED, owner=dead_process)
    add_run(store, "before-owners", RunState.PENDING, owner="")
    add_run(store, "live", RunState.STARTED, owner=live_process)
    add_run(store, "elsewhere", RunState.STARTED, owner="another-host:1")
    add_run(store, "done", RunState.SUCCESS, owner=dead_process)
    store.step_changed(StepChanged("dead", "p", "a", "a", StepState.RUNNING, NOW))
    store.step_changed(StepChanged("live", "p", "a", "a", StepState.RUNNING, NOW))

    restarted = RunStore(database_url)
    assert sorted(restarted.abort_orphaned("server stopped")) == ["before-owners", "dead"]
    dead = restarted.get_run("dead")
    assert dead is not None and dead.state == "ABORTED" and dead.message == "server stopped"
    assert [step.state for step in dead.steps] == ["ABORTED", "ABORTED"]
    for kept in ("live", "elsewhere"):
        run = restarted.get_run(kept)
        assert run is not None and run.state == "STARTED" and run.message == ""
        assert run.steps[0].state == ("RUNNING" if kept == "live" else "PENDING")
    done = restarted.get_run("done")
    assert done is not None and done.state == "SUCCESS"


def test_runs_are_listed_newest_first_per_pipeline(database_url: str) -> None:
    store = RunStore(database_url)
    add_run(store, "r1")
    add_run(store, "r2")
    assert {run.id for run in store.list_runs("p")} == {"r1", "r2"}
    assert store.list_runs("other") == []
