"""Helpers shared by the tests: pipelines of real steps written into temporary projects."""

import contextlib
import json
import os
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import nbformat
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from tornado.web import RequestHandler

from jupyter_orchest.engine.model import RunState, StepState
from jupyter_orchest.handlers import API_PREFIX
from jupyter_orchest.pipeline import dump_definition
from jupyter_orchest.store import RunRecord, RunStore, StepRunRecord


def make_step(uuid: str, file_path: str, parents: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "uuid": uuid,
        "title": uuid.capitalize(),
        "file_path": file_path,
        "incoming_connections": parents,
        "environment": "",
        "kernel": {"name": "python", "display_name": "Python 3"},
        "parameters": {},
        "meta_data": {"hidden": False, "position": [0, 0]},
        **extra,
    }


WritePipeline = Callable[..., Path]


def pipeline_writer(project: Path) -> WritePipeline:
    """Writes step files ({name: source}) and a pipeline of them; returns the pipeline file."""

    def write(
        steps: list[dict[str, Any]],
        files: dict[str, str],
        parameters: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
    ) -> Path:
        for name, source in files.items():
            (project / name).write_text(source)
        definition = {
            "name": "test",
            "uuid": "pipeline-1",
            "version": "1.0.0",
            "settings": settings or {},
            "parameters": parameters or {},
            "services": {},
            "steps": {step["uuid"]: step for step in steps},
        }
        file = project / "test.orchest"
        file.write_text(dump_definition(definition))
        return file

    return write


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


EXAMPLE_PROJECT = Path(__file__).resolve().parents[1] / "examples" / "quickstart"
FINISHED_RUN_STATES = ("SUCCESS", "FAILURE", "ABORTED")


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make a file read-only for this process while the block runs. Root may write any file
    whatever its mode, but not an immutable one."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(mode)


def with_database(config: dict[str, Any], database_url: str) -> dict[str, Any]:
    """A server configuration that records in the database at `database_url`."""
    return {**config, "OrchestApp": {**config.get("OrchestApp", {}), "database_url": database_url}}


NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def add_run(
    store: RunStore, run_id: str, state: RunState = RunState.PENDING, owner: str | None = None
) -> None:
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
            owner=owner,
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


HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def extension_routes(serverapp: Any) -> list[tuple[str, type[RequestHandler]]]:
    """Every (pattern, handler) pair the server routes to, under the extension's prefix."""
    routes = []
    pending = [serverapp.web_app.default_router, serverapp.web_app.wildcard_router]
    while pending:
        for rule in pending.pop().rules:
            if hasattr(rule.target, "rules"):  # a nested router, e.g. per host
                pending.append(rule.target)
            elif f"/{API_PREFIX}/" in rule.matcher.regex.pattern:
                routes.append((rule.matcher.regex.pattern, rule.target))
    return routes


SAMPLES = {
    "path": "some/pipeline.orchest",
    "run_id": "abc123",
    "step_uuid": "step-1",
    "job_id": "def456",
    "action": "cancel",
    "uuid": "env-1",
    "number": "1",
}


def sample_url(pattern: str) -> str:
    """A concrete URL that the route's pattern matches."""
    url = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda group: SAMPLES[group[1]], pattern)
    return url.rstrip("$")


def implemented_methods(handler: type[RequestHandler]) -> list[str]:
    return [
        method
        for method in HTTP_METHODS
        if getattr(handler, method.lower()) is not getattr(RequestHandler, method.lower())
    ]


POSTGRES_URL = os.environ.get("JUPYTER_ORCHEST_TEST_POSTGRES_URL", "")
"""A PostgreSQL server's URL (CI starts one with `.ci/postgres start`); its tests are skipped
without it, unless JUPYTER_ORCHEST_REQUIRE_POSTGRES=1 (CI) makes them fail."""
POSTGRES_REQUIRED = os.environ.get("JUPYTER_ORCHEST_REQUIRE_POSTGRES") == "1"


def postgres_server() -> Engine:
    """The PostgreSQL server's own database, in autocommit (to make and drop databases)."""
    if not POSTGRES_URL:
        reason = "no PostgreSQL server: set JUPYTER_ORCHEST_TEST_POSTGRES_URL"
        if POSTGRES_REQUIRED:
            pytest.fail(f"{reason} (JUPYTER_ORCHEST_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    return create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """The URL of a new database on the PostgreSQL server, dropped afterwards."""
    server = postgres_server()
    name = f"orchest_test_{uuid.uuid4().hex[:12]}"
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        server.dispose()


# An Orchest project that uses /data and /project-dir as Orchest's documentation and examples
# do: absolute paths in a notebook, a script and a shell script, and a scikit-learn style
# fetcher given data_home="/data". What it leaves in its data folder is DATA_PROJECT_OUTPUT.
DATA_PROJECT_NOTEBOOK = [
    "import json, os",
    'with open("/project-dir/y.txt") as file:\n    y = file.read()',
    'os.makedirs("/data/notebook", exist_ok=True)\n'
    'with open("/data/notebook/out.json", "w") as file:\n'
    '    json.dump({"y": y}, file)\n'
    "same = {\n"
    '    "data": os.path.samefile("/data", os.environ["ORCHEST_DATA_DIR"]),\n'
    '    "project": os.path.samefile("/project-dir", os.environ["ORCHEST_PROJECT_DIR"]),\n'
    "}\n"
    'with open("/data/notebook/same.json", "w") as file:\n'
    "    json.dump(same, file)",
]
DATA_PROJECT_SCRIPT = '''\
import json
import os


def fetch_housing(data_home=None):
    """As scikit-learn's fetchers do: make data_home, download into it once."""
    data_home = os.path.expanduser(data_home or os.path.join("~", "scikit_learn_data"))
    folder = os.path.join(data_home, "cal_housing")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "cal_housing.csv")
    if not os.path.exists(path):
        with open(path, "w") as file:
            file.write("longitude,latitude\\n-122.23,37.88\\n")
    return path


fetch_housing(data_home="/data")
with open("/data/notebook/out.json") as file:
    y = json.load(file)["y"]
with open("/data/x", "w") as file:
    file.write(y.upper())
print("wrote /data/x")
'''
DATA_PROJECT_SHELL = """\
set -eu
cp /project-dir/y.txt /data/y-copy.txt
ls /data > /data/listing.txt
"""
DATA_PROJECT_OUTPUT = {
    "notebook/out.json": '{"y": "hello from the project\\n"}',
    "notebook/same.json": '{"data": true, "project": true}',
    "cal_housing/cal_housing.csv": "longitude,latitude\n-122.23,37.88\n",
    "x": "HELLO FROM THE PROJECT\n",
    "y-copy.txt": "hello from the project\n",
    "listing.txt": "cal_housing\nlisting.txt\nnotebook\nx\ny-copy.txt\n",
}


def write_data_project(project: Path, environment: str = "") -> Path:
    """The project above in `project` (made if need be); returns its pipeline file. Its steps
    use `environment` (the project's default when empty)."""
    (project / ".orchest").mkdir(parents=True, exist_ok=True)
    (project / "y.txt").write_text("hello from the project\n")
    notebook = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    notebook.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
    }
    notebook.cells = [nbformat.v4.new_code_cell(c) for c in DATA_PROJECT_NOTEBOOK]  # type: ignore[no-untyped-call]
    (project / "load.ipynb").write_text(nbformat.writes(notebook))  # type: ignore[no-untyped-call]
    return pipeline_writer(project)(
        [
            make_step("load", "load.ipynb", [], environment=environment),
            make_step("fetch", "fetch.py", ["load"], environment=environment),
            make_step("report", "report.sh", ["fetch"], environment=environment),
        ],
        {"fetch.py": DATA_PROJECT_SCRIPT, "report.sh": DATA_PROJECT_SHELL},
    )


def files_under(folder: Path) -> dict[str, str]:
    """Every file under the folder, by its path relative to it, with its text."""
    return {
        path.relative_to(folder).as_posix(): path.read_text()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
