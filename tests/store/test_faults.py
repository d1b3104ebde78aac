"""The store when its database fails, on real SQLite files and a real PostgreSQL server:
read-only, damaged, deleted or replaced while in use, a server restarted, and URLs that cannot
be used. Each gives a message that names the database and says what to do; a deleted file is
made again and recording goes on."""

import logging
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from jupyter_orchest.engine.events import RunChanged, StepChanged
from jupyter_orchest.engine.model import RunState, StepState
from jupyter_orchest.store import DatabaseUnavailable, RunStore
from jupyter_orchest.store.database import sqlite_url
from support import NOW, add_run, postgres_server, read_only


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "orchest.db"


def test_a_read_only_database_is_read_and_refuses_writes_clearly(
    database: Path, caplog: pytest.LogCaptureFixture
) -> None:
    made = RunStore(sqlite_url(database))
    add_run(made, "old", RunState.SUCCESS)
    made.database.engine.dispose()

    with read_only(database):
        store = RunStore(sqlite_url(database))
        old = store.get_run("old")
        assert old is not None and old.state == "SUCCESS"  # history stays readable
        with pytest.raises(DatabaseUnavailable) as refused:
            add_run(store, "new")
        message = refused.value.message
        assert f"The database {database} is read-only" in message
        assert "writable" in message and "OrchestApp.database_url" in message
        store.run_changed(RunChanged("old", "p", RunState.FAILURE, NOW))  # logged, not raised
        assert [r.message for r in caplog.records if r.levelno == logging.ERROR] == [message]

    add_run(store, "new")  # writable again: no restart needed
    assert store.get_run("new") is not None


def test_a_damaged_database_is_named_with_what_to_do(database: Path) -> None:
    database.write_bytes(b"not what SQLite writes" * 200)
    with pytest.raises(DatabaseUnavailable) as refused:
        RunStore(sqlite_url(database))
    message = refused.value.message
    assert f"The database {database} is damaged" in message
    assert f"mv '{database}' '{database}.damaged'" in message and "restart" in message


def test_a_database_in_a_missing_folder_cannot_be_opened(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "orchest.db"
    with pytest.raises(DatabaseUnavailable) as refused:
        RunStore(sqlite_url(missing))
    assert f"The database {missing} cannot be opened" in refused.value.message
    assert "folder exists" in refused.value.message


@pytest.mark.parametrize("removed", [[""], ["", "-wal", "-shm"]], ids=["file", "with-wal"])
def test_a_database_deleted_in_use_is_made_again_with_the_runs_under_way(
    database: Path, removed: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    store = RunStore(sqlite_url(database))
    add_run(store, "finished", RunState.SUCCESS)
    add_run(store, "under-way", RunState.STARTED)
    store.step_changed(StepChanged("under-way", "p", "a", "a", StepState.RUNNING, NOW))

    for suffix in removed:
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    store.step_changed(StepChanged("under-way", "p", "a", "a", StepState.COMPUTED, NOW))
    store.run_changed(RunChanged("under-way", "p", RunState.SUCCESS, NOW))
    add_run(store, "next")

    assert database.exists()
    again = RunStore(sqlite_url(database))  # what a restart finds
    assert sorted(run.id for run in again.list_runs()) == ["next", "under-way"]
    run = again.get_run("under-way")
    assert run is not None and run.state == "SUCCESS"
    assert [step.state for step in run.steps] == ["COMPUTED", "PENDING"]
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert f"The database {database} was deleted" in warning
    assert "went with the deleted file" in warning and "Runs under way carried over: 1." in warning


def test_a_database_replaced_in_use_is_followed(
    database: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other = tmp_path / "restored.db"
    restored = RunStore(sqlite_url(other))
    add_run(restored, "restored", RunState.SUCCESS)
    restored.database.engine.dispose()  # all of it in the file, none in its WAL
    store = RunStore(sqlite_url(database))
    add_run(store, "under-way", RunState.STARTED)

    shutil.copy(other, tmp_path / "copy.db")
    os.replace(tmp_path / "copy.db", database)
    store.run_changed(RunChanged("under-way", "p", RunState.SUCCESS, NOW))

    assert sorted(run.id for run in store.list_runs()) == ["restored", "under-way"]
    run = store.get_run("under-way")
    assert run is not None and run.state == "SUCCESS"
    assert any("was replaced by another file" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("mysql://someone:secret@127.0.0.1:1/db", "driver is not installed"),
        ("postgresql+psycopg://someone:secret@127.0.0.1:1/db", "reachable"),
        ("nonsense", "not a SQLAlchemy URL"),
        ("postgresql+psycopg://someone:secret@host:port/db", "not a SQLAlchemy URL"),
    ],
    ids=["no-driver", "no-server", "not-a-url", "bad-port"],
)
def test_urls_that_cannot_be_used_are_refused_clearly(url: str, said: str) -> None:
    with pytest.raises(DatabaseUnavailable) as refused:
        RunStore(url)
    assert "OrchestApp.database_url" in refused.value.message
    assert said in refused.value.message and "secret" not in refused.value.message


def terminate_connections(database_url: str) -> None:
    """End every connection to the database, as a restart of its server does."""
    name = make_url(database_url).database
    with postgres_server().connect() as server:
        server.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )


def set_read_only(database_url: str, read_only: bool) -> None:
    name = make_url(database_url).database
    setting = "SET default_transaction_read_only = on" if read_only else "RESET ALL"
    with postgres_server().connect() as server:
        server.execute(text(f'ALTER DATABASE "{name}" {setting}'))
    terminate_connections(database_url)


def test_a_read_only_postgresql_database_is_read_and_refuses_writes_clearly(
    postgres_url: str,
) -> None:
    store = RunStore(postgres_url)
    add_run(store, "old", RunState.SUCCESS)

    set_read_only(postgres_url, True)
    try:
        old = store.get_run("old")
        assert old is not None and old.state == "SUCCESS"
        with pytest.raises(DatabaseUnavailable) as refused:
            add_run(store, "new")
        shown = make_url(postgres_url).render_as_string(hide_password=True)
        assert f"The database {shown} is read-only" in refused.value.message
    finally:
        set_read_only(postgres_url, False)

    add_run(store, "new")
    assert store.get_run("new") is not None


def test_a_restart_of_the_postgresql_server_fails_no_request(postgres_url: str) -> None:
    store = RunStore(postgres_url)
    add_run(store, "before")
    terminate_connections(postgres_url)
    assert [run.id for run in store.list_runs()] == ["before"]
    add_run(store, "after")
    assert store.get_run("after") is not None
