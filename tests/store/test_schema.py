"""Schema versions: a database made before versions is adopted with its rows, every database
opens at HEAD, one made by a newer version is refused clearly, and the migrations make the
models' schema."""

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from jupyter_orchest.engine.model import RunState
from jupyter_orchest.store import BuildStore, DatabaseUnavailable, JobStore, RunStore
from jupyter_orchest.store.database import sqlite_url
from jupyter_orchest.store.migrate import alembic_config
from jupyter_orchest.store.models import Base
from jupyter_orchest.store.provenance import ProvenanceStore
from jupyter_orchest.store.schema import HEAD, VERSION_TABLE

BEFORE_VERSIONS = Path(__file__).with_name("schema_before_versions.sql")
MOMENT = "2026-01-01 00:00:00.000000"
ROWS = f"""
INSERT INTO runs VALUES ('run1', 'p', 'p.orchest', '/project', 'all', '[]', '{{"pipeline": {{}}}}',
    'STARTED', '', '{MOMENT}', '{MOMENT}', NULL);
INSERT INTO step_runs VALUES ('run1', 'a', 0, 'A', 'a.py', 'RUNNING', '', '{MOMENT}', NULL, '');
INSERT INTO runs VALUES ('run0', 'p', 'p.orchest', '/project', 'all', '[]', '{{}}',
    'SUCCESS', 'done', '{MOMENT}', '{MOMENT}', '{MOMENT}');
INSERT INTO environment_builds VALUES (1, '/project', 'env', 1, 'docker', 'SUCCESS', 'image:1',
    'sha256:1', 'inputs', '', 'host:1', '{MOMENT}', '{MOMENT}', '{MOMENT}', NULL);
INSERT INTO jobs VALUES ('job1', 'sweep', 'p', 'p.orchest', '/project', '/project/job', 'SUCCESS',
    '', '{{}}', NULL, 'UTC', NULL, NULL, '{{}}', 0, '{MOMENT}', '{MOMENT}');
INSERT INTO runs VALUES ('run2', 'p', 'p.orchest', '/project/job/run2', 'job', '[]', '{{}}',
    'SUCCESS', '', '{MOMENT}', '{MOMENT}', '{MOMENT}');
INSERT INTO job_runs VALUES ('run2', 'job1', 0, NULL, '/project/job/run2', '{MOMENT}');
"""


def database_before_versions(path: Path, tables: str | None = None) -> str:
    """A database made by the code before versions, with rows; only the tables whose DDL
    contains `tables` when given."""
    statements = BEFORE_VERSIONS.read_text().split(";\n")
    if tables is not None:
        statements = [s for s in statements if tables in s]
    with sqlite3.connect(path) as connection:
        connection.executescript(";\n".join(statements))
        if tables is None:
            connection.executescript(ROWS)
    connection.close()
    return sqlite_url(path)


def version_of(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as connection:
        version = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    engine.dispose()
    return str(version)


def test_a_database_made_before_versions_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    url = database_before_versions(tmp_path / "orchest.db")

    store = RunStore(url)

    assert version_of(url) == HEAD
    run = store.get_run("run1")
    assert run is not None and run.state == "STARTED" and run.parameters == {"pipeline": {}}
    assert run.owner == "" and [step.state for step in run.steps] == ["RUNNING"]
    assert {r.id for r in store.list_runs("p")} == {"run0", "run1", "run2"}
    (build,) = BuildStore(store).list_builds("/project", "env")
    assert build.reference == "image:1" and build.state == "SUCCESS"
    jobs = JobStore(store)
    job = jobs.get_job("job1")
    assert job is not None and job.name == "sweep"
    assert [run.id for _, run in jobs.job_runs("job1")] == ["run2"]
    # Its runs have no owner: a server that was stopped, whose unfinished runs are aborted.
    assert store.abort_orphaned("stopped") == ["run1"]
    aborted = store.get_run("run1")
    assert aborted is not None and aborted.state == RunState.ABORTED.value
    assert ProvenanceStore(store).latest_run("p") is None  # its tables work, empty


def test_missing_tables_of_a_database_made_before_versions_are_made(tmp_path: Path) -> None:
    # The command line's environment builds made only the builds table, say.
    url = database_before_versions(tmp_path / "orchest.db", tables="environment_builds")
    store = RunStore(url)
    assert version_of(url) == HEAD
    assert store.list_runs() == [] and ProvenanceStore(store).latest_run("p") is None


def test_a_database_of_a_newer_version_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "orchest.db")
    RunStore(url).database.engine.dispose()
    with sqlite3.connect(tmp_path / "orchest.db") as connection:
        connection.execute(f"UPDATE {VERSION_TABLE} SET version_num = '9999'")
    connection.close()

    with pytest.raises(DatabaseUnavailable) as refused:
        RunStore(url)
    message = refused.value.message
    assert str(tmp_path / "orchest.db") in message
    assert "9999" in message and "newer jupyter-orchest" in message and HEAD in message
    assert version_of(url) == "9999"  # untouched


def test_migrations_make_the_schema_of_the_models(database_url: str) -> None:
    RunStore(database_url).database.engine.dispose()
    engine = create_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_head_is_the_newest_migration() -> None:
    with create_engine("sqlite://").connect() as connection:
        script = ScriptDirectory.from_config(alembic_config(connection))
    assert script.get_heads() == [HEAD]


def test_databases_opened_at_once_are_migrated_once(database_url: str) -> None:
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            RunStore(database_url).database.engine.dispose()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert version_of(database_url) == HEAD


def test_a_database_at_head_opens_without_loading_alembic(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "orchest.db")
    RunStore(url).database.engine.dispose()
    code = (
        "import sys; from jupyter_orchest.store import RunStore; "
        f"RunStore({url!r}); print('alembic' in sys.modules)"
    )
    opened = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.strip() == "False"
