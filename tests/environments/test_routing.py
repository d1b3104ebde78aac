"""Steps routed to their environment's build: pipelines run for real in local virtual
environments, with builds recorded in a real SQLite database."""

import asyncio
import json
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from jupyter_orchest.engine.events import RunChanged, StepChanged, StepLogged
from jupyter_orchest.engine.launch import RunLayout, prepare_run
from jupyter_orchest.engine.model import RunState, StepTask
from jupyter_orchest.engine.planning import RunType, plan_run
from jupyter_orchest.environments.backends import BackendChoice, BackendSettings
from jupyter_orchest.environments.builds import Builds
from jupyter_orchest.environments.definition import (
    create_environment,
    read_environment,
    update_environment,
)
from jupyter_orchest.environments.events import BuildChanged, BuildLogged
from jupyter_orchest.environments.executor import EnvironmentExecutor
from jupyter_orchest.environments.kernelspecs import KernelspecFolder
from jupyter_orchest.environments.local import build_folder
from jupyter_orchest.pipeline import parse_definition
from jupyter_orchest.services.jobs import JobService, JobSettings
from jupyter_orchest.services.pipelines import PipelineService
from jupyter_orchest.store import BuildStore, RunStore
from jupyter_orchest.store.database import sqlite_url
from support import EXAMPLE_PROJECT, make_step, pipeline_writer

EXAMPLE_ENVIRONMENT = "3d9c6b0e-7f1a-4c55-9d3e-2b8f6a1c4e70"
PRINT_PREFIX = "import sys\nprint('prefix=' + sys.prefix)\n"


@dataclass
class Events:
    """Every run and build event, as an observer receives them."""

    steps: list[StepChanged] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)
    builds: list[BuildChanged] = field(default_factory=list)
    build_log: str = ""

    def run_changed(self, event: RunChanged) -> None:
        pass

    def step_changed(self, event: StepChanged) -> None:
        self.steps.append(event)

    def step_logged(self, event: StepLogged) -> None:
        self.logs[event.step_uuid] = self.logs.get(event.step_uuid, "") + event.text

    def build_changed(self, event: BuildChanged) -> None:
        self.builds.append(event)

    def build_logged(self, event: BuildLogged) -> None:
        self.build_log += event.text

    def final(self) -> dict[str, tuple[str, str]]:
        """Each step's last state and message, by title."""
        return {e.title: (e.state.value, e.message) for e in self.steps}


@dataclass
class Kit:
    builds: Builds
    executor: EnvironmentExecutor
    events: Events

    async def run(self, pipeline_file: Path, project: Path) -> RunState:
        definition = parse_definition(pipeline_file.read_text())
        layout = RunLayout.interactive(
            project, pipeline_file, definition["uuid"], uuid.uuid4().hex, project / "data"
        )
        runner = prepare_run(
            definition=definition,
            plan=plan_run(definition, pipeline_file, RunType.ALL),
            layout=layout,
            executor=self.executor,
            observer=self.events,
            parallelism=2,
        )
        await self.executor.start()
        return await runner.run()

    def records(self, project: Path, environment: str) -> list[Any]:
        return self.builds.store.list_builds(str(project), environment)


@pytest.fixture
def kit(tmp_path: Path, jp_asyncio_loop: asyncio.AbstractEventLoop) -> Iterator[Kit]:
    events = Events()
    store = BuildStore(RunStore(sqlite_url(tmp_path / "orchest.db")))
    settings = BackendSettings(
        choice="local", sdk_parent=tmp_path / "sdk", runtime_dir=tmp_path / "runtime"
    )
    builds = Builds(
        BackendChoice(settings), store, KernelspecFolder(tmp_path / "kernels"), observer=events
    )
    executor = EnvironmentExecutor(builds)
    yield Kit(builds, executor, events)
    jp_asyncio_loop.run_until_complete(executor.shutdown())
    jp_asyncio_loop.run_until_complete(builds.shutdown())


def example_with_prefixes(root: Path) -> Path:
    """The example project, whose notebook and script also print the Python they run in."""
    project = root / "quickstart"
    shutil.copytree(EXAMPLE_PROJECT, project)
    notebook = json.loads((project / "get-data.ipynb").read_text())
    notebook["cells"].append(
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "prefix",
            "metadata": {},
            "outputs": [],
            "source": PRINT_PREFIX,
        }
    )
    (project / "get-data.ipynb").write_text(json.dumps(notebook, indent=1))
    clean = project / "clean.py"
    clean.write_text(clean.read_text() + PRINT_PREFIX)
    return project


async def test_the_example_runs_in_its_environment_built_once(kit: Kit, tmp_path: Path) -> None:
    project = example_with_prefixes(tmp_path)
    pipeline = project / "quickstart.orchest"
    assert await kit.run(pipeline, project) == RunState.SUCCESS, kit.events.final()
    venv = build_folder(project, EXAMPLE_ENVIRONMENT, 1)
    steps = parse_definition(pipeline.read_text())["steps"]
    by_title = {step["title"]: uuid_ for uuid_, step in steps.items()}

    # The first step waited for the build, and said so in its log.
    first = kit.events.logs[by_title["Get data"]]
    assert "Building the environment 'Python 3' (build 1)" in first
    assert [e.state.value for e in kit.events.builds] == ["PENDING", "BUILDING", "SUCCESS"]
    assert "Installing ipykernel" in kit.events.build_log

    # The notebook and the script ran in the venv, and data went from one to the other.
    notebook = json.loads((project / "get-data.ipynb").read_text())
    printed = "".join("".join(out.get("text", "")) for out in notebook["cells"][-1]["outputs"])
    assert printed.strip() == f"prefix={venv}"
    clean = kit.events.logs[by_title["Clean"]]
    assert f"prefix={venv}\n" in clean
    assert "kept" in clean and "of 200 measurements" in clean

    # A second run uses the same build.
    kit.events.logs.clear()
    assert await kit.run(pipeline, project) == RunState.SUCCESS, kit.events.final()
    assert "Building" not in "".join(kit.events.logs.values())
    assert len(kit.records(project, EXAMPLE_ENVIRONMENT)) == 1

    # A changed setup script makes a new build, which supersedes the old ones: the one
    # before it stays (for kernels started from it in JupyterLab), older ones go.
    environment = read_environment(project, EXAMPLE_ENVIRONMENT)
    for script in ("echo second build\n", "echo third build\n"):
        environment = update_environment(environment, {"setup_script": script})
        assert await kit.run(pipeline, project) == RunState.SUCCESS, kit.events.final()
    await kit.builds.shutdown()  # waits for the superseded build's removal
    records = kit.records(project, EXAMPLE_ENVIRONMENT)
    assert [(r.number, r.state, r.removed_at is not None) for r in records] == [
        (3, "SUCCESS", False),
        (2, "SUCCESS", False),
        (1, "SUCCESS", True),
    ]
    assert not venv.exists() and build_folder(project, EXAMPLE_ENVIRONMENT, 2).is_dir()
    clean_again = kit.events.logs[by_title["Clean"]]
    assert f"prefix={build_folder(project, EXAMPLE_ENVIRONMENT, 3)}\n" in clean_again


async def test_a_failed_build_fails_its_steps_once(kit: Kit, tmp_path: Path) -> None:
    project = tmp_path / "project"
    environment = create_environment(
        project, name="Broken", setup_script="echo 'no such package' >&2\nexit 1\n"
    )
    pipeline = pipeline_writer(project)(
        [
            make_step("a", "a.py", [], environment=environment.uuid),
            make_step("b", "b.py", [], environment=environment.uuid),
            make_step("c", "c.py", ["a"], environment=environment.uuid),
        ],
        {"a.py": "", "b.py": "", "c.py": ""},
    )
    assert await kit.run(pipeline, project) == RunState.FAILURE
    final = kit.events.final()
    assert final["C"][0] == "ABORTED"
    for title in ("A", "B"):  # both waited for the one build
        state, message = final[title]
        assert state == "FAILURE"
        assert message.startswith("The environment 'Broken' could not be built (build 1): ")
        assert "exit code 1" in message and "no such package" in message
    assert [(r.number, r.state) for r in kit.records(project, environment.uuid)] == [(1, "FAILURE")]
    assert not build_folder(project, environment.uuid, 1).exists()


async def test_a_build_removed_behind_its_back_fails_the_step_clearly(
    kit: Kit, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    pipeline = pipeline_writer(project)([make_step("a", "a.py", [])], {"a.py": ""})
    assert await kit.run(pipeline, project) == RunState.SUCCESS, kit.events.final()
    (default,) = [p.name for p in (project / ".orchest" / "environments").iterdir()]
    shutil.rmtree(build_folder(project, default, 1))
    assert await kit.run(pipeline, project) == RunState.FAILURE
    message = kit.events.final()["A"][1]
    assert "Build 1 of the environment 'Python 3' is gone" in message
    assert "build the environment again" in message


async def test_a_missing_environment_fails_the_step_without_building(
    kit: Kit, tmp_path: Path
) -> None:
    task = StepTask(
        "run", "a", "A", tmp_path / "a.py", None, environment="deleted-env", project_dir=tmp_path
    )
    result = await kit.executor.run_step(task, kit.events)  # type: ignore[arg-type]
    assert not result.succeeded
    assert result.message == f'The project "{tmp_path.name}" has no environment "deleted-env".'
    assert kit.events.builds == []


def test_builds_of_a_process_that_died_are_aborted_at_start(tmp_path: Path) -> None:
    store = BuildStore(RunStore(sqlite_url(tmp_path / "orchest.db")))
    host = socket.gethostname()
    dead = subprocess.Popen(["true"])
    dead.wait()
    alive = subprocess.Popen(["sleep", "60"])
    for owner in (f"{host}:{dead.pid}", f"{host}:{alive.pid}"):
        record = store.add_build(str(tmp_path), "env", "local", "inputs")
        store.update_build(record.id, state="BUILDING", owner=owner)
    settings = BackendSettings(choice="local", sdk_parent=tmp_path, runtime_dir=tmp_path)
    try:
        Builds(BackendChoice(settings), store, KernelspecFolder(tmp_path / "kernels"))
    finally:
        alive.kill()
        alive.wait()
    states = {r.number: (r.state, r.message) for r in store.list_builds(str(tmp_path), "env")}
    assert states[1] == ("ABORTED", "The process building it stopped before the build finished.")
    assert states[2] == ("BUILDING", "")


async def test_a_jobs_runs_use_the_environment_builds_of_their_project(
    kit: Kit, tmp_path: Path
) -> None:
    project = example_with_prefixes(tmp_path)
    jobs = JobService(
        PipelineService(tmp_path),
        RunStore(sqlite_url(tmp_path / "orchest.db")),
        kit.executor,
        JobSettings(data_dir=None, parallelism=2, max_runs_per_job=10, max_concurrent_runs=2),
        kit.events,
    )
    job = await jobs.create(
        {
            "pipeline_path": "quickstart/quickstart.orchest",
            "parameters": {"pipeline": {"n_rows": [10, 20]}},
        }
    )
    await jobs.wait_for_runs(job["id"])
    job = jobs.get(job["id"])

    assert job["status"] == "SUCCESS", kit.events.final()
    # Both runs, each in its own copy, ran in the one build of the project's environment.
    steps = parse_definition((project / "quickstart.orchest").read_text())["steps"]
    clean = next(uuid_ for uuid_, step in steps.items() if step["title"] == "Clean")
    venv = build_folder(project, EXAMPLE_ENVIRONMENT, 1)
    prefixes = [line for line in kit.events.logs[clean].splitlines() if "prefix=" in line]
    assert prefixes == [f"prefix={venv}"] * 2
    assert len(kit.records(project, EXAMPLE_ENVIRONMENT)) == 1
