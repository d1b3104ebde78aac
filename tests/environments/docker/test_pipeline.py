"""Whole pipelines through the Docker executor: a notebook and scripts that prove they ran in
the environment's container, passing data through the SDK; files stay the user's; every
container goes at shutdown. Retries and timeouts: flaky steps succeed on their second
attempt; a script that times out has its container removed, a notebook that times out leaves
no process in the kernels' container."""

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import nbformat
from docker import DockerClient

from jupyter_orchest.engine.cache import StepCache
from jupyter_orchest.engine.caching import Caching
from jupyter_orchest.engine.events import StepChanged, StepLogged
from jupyter_orchest.engine.launch import RunLayout, prepare_run
from jupyter_orchest.engine.model import RunState, StepExecutor, StepState
from jupyter_orchest.engine.orchestrator import PipelineRunner
from jupyter_orchest.engine.planning import RunType, plan_run
from jupyter_orchest.environments.docker import labels
from jupyter_orchest.environments.docker.executor import DockerExecutor
from jupyter_orchest.pipeline import parse_definition
from jupyter_orchest.store import RunStore
from jupyter_orchest.store.database import sqlite_url
from jupyter_orchest.store.provenance import ProvenanceStore
from support import make_step, pipeline_writer

Built = Any  # the session's build: see conftest.Built

NOTEBOOK_CELLS = [
    "import os, sys\nimport orchest",
    # Where it runs: in a container, in its folder under /project-dir, with /data.
    "proof = {\n"
    "    'dockerenv': os.path.exists('/.dockerenv'),\n"
    "    'cwd': os.getcwd(),\n"
    "    'project': os.environ['ORCHEST_PROJECT_DIR'],\n"
    "    'data': os.environ['ORCHEST_DATA_DIR'],\n"
    "    'uid': os.getuid(),\n"
    "    'python': sys.executable,\n"
    "}\n"
    "print(proof)",
    "import six  # installed by the setup script\n"
    "open('/data/from-notebook.txt', 'w').write('data folder')\n"
    "open('made-by-notebook.txt', 'w').write('in the project')\n"
    "orchest.output({'numbers': [1, 2, 3], 'proof': proof}, name='numbers')",
]
SCRIPT = """\
import json, os
import orchest
inputs = orchest.get_inputs()
numbers = inputs["numbers"]
result = {
    "total": sum(numbers["numbers"]),
    "notebook": numbers["proof"],
    "dockerenv": os.path.exists("/.dockerenv"),
    "cwd": os.getcwd(),
    "data_file": open("/data/from-notebook.txt").read(),
    "marker": open("/opt/setup-marker").read(),
}
with open("result.json", "w") as file:
    json.dump(result, file)
print("total", result["total"])
"""
SHELL = """\
set -eu
test -f /.dockerenv
echo "shell in $(pwd) as $(id -u)"
"""


def write_notebook(path: Path, cells: list[str]) -> None:
    notebook = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    notebook.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
    }
    notebook.cells = [nbformat.v4.new_code_cell(cell) for cell in cells]  # type: ignore[no-untyped-call]
    path.write_text(nbformat.writes(notebook), encoding="utf-8")  # type: ignore[no-untyped-call]


class Recorder:
    def __init__(self) -> None:
        self.states: dict[str, StepState] = {}
        self.messages: dict[str, str] = {}
        self.cached: dict[str, bool] = {}
        self.logs: list[StepLogged] = []

    def run_changed(self, event: Any) -> None:
        pass

    def step_changed(self, event: StepChanged) -> None:
        self.states[event.step_uuid] = event.state
        self.cached[event.step_uuid] = event.cached
        if event.message:
            self.messages[event.step_uuid] = event.message

    def step_logged(self, event: StepLogged) -> None:
        self.logs.append(event)

    def log_of(self, step: str) -> str:
        return "".join(event.text for event in self.logs if event.step_uuid == step)


def runner(
    pipeline_file: Path, executor: StepExecutor, recorder: Recorder, data_dir: Path
) -> PipelineRunner:
    definition = parse_definition(pipeline_file.read_text())
    project = pipeline_file.parent
    layout = RunLayout.interactive(project, pipeline_file, definition["uuid"], "run1", data_dir)
    return prepare_run(
        definition=definition,
        plan=plan_run(definition, pipeline_file, RunType.ALL, None),
        layout=layout,
        executor=executor,
        observer=recorder,
        parallelism=2,
    )


async def run(
    pipeline_file: Path, executor: StepExecutor, recorder: Recorder, data_dir: Path
) -> RunState:
    return await runner(pipeline_file, executor, recorder, data_dir).run()


def make_project(built: Built, name: str) -> Path:
    """A project of its own, using the session's build."""
    project = built.work / name
    (project / ".orchest").mkdir(parents=True)
    (project / "steps").mkdir()
    return project


def executor_for(built: Built, project: Path | None = None) -> DockerExecutor:
    executor = built.backend.executor(built.built)
    assert isinstance(executor, DockerExecutor)
    return executor


async def test_a_pipeline_runs_in_the_container_and_passes_data(
    built: Built, engine: DockerClient
) -> None:
    project = make_project(built, "pipeline")
    write_notebook(project / "steps" / "make.ipynb", NOTEBOOK_CELLS)
    pipeline = pipeline_writer(project)(
        [
            make_step("make", "steps/make.ipynb", [], environment=built.environment.uuid),
            make_step("use", "steps/use.py", ["make"], environment=built.environment.uuid),
            make_step("report", "report.sh", ["use"], environment=built.environment.uuid),
        ],
        {"steps/use.py": SCRIPT, "report.sh": SHELL},
    )
    data_dir = built.work / "pipeline-data"
    recorder = Recorder()
    executor = executor_for(built)
    await executor.start()
    try:
        state = await run(pipeline, executor, recorder, data_dir)
        running = labels.containers_labelled(engine, labels.GROUP, executor.group)
        assert running, "the kernels' container lives as long as the executor"
    finally:
        await executor.shutdown()

    assert state == RunState.SUCCESS, recorder.messages
    result = json.loads((project / "steps" / "result.json").read_text())
    assert result["total"] == 6
    assert result["dockerenv"] and result["notebook"]["dockerenv"]
    assert result["cwd"] == result["notebook"]["cwd"] == "/project-dir/steps"
    assert result["notebook"]["project"] == "/project-dir"
    assert result["notebook"]["data"] == "/data"
    assert result["notebook"]["uid"] == os.getuid()
    assert result["notebook"]["python"].startswith("/opt/jupyter-orchest/")
    assert result["data_file"] == "data folder"
    assert result["marker"] == "the project was mounted\n"
    assert "total 6" in recorder.log_of("use")
    assert "shell in /project-dir as" in recorder.log_of("report")
    # The notebook's outputs came back into the file, cell by cell.
    notebook = json.loads((project / "steps" / "make.ipynb").read_text())
    printed = "".join("".join(o.get("text", "")) for o in notebook["cells"][1]["outputs"])
    assert "'dockerenv': True" in printed
    # Files written in the container are the user's.
    for written in (
        project / "steps" / "made-by-notebook.txt",
        project / "steps" / "result.json",
        data_dir / "from-notebook.txt",
    ):
        assert written.stat().st_uid == os.getuid(), written
    assert not labels.containers_labelled(engine, labels.GROUP, executor.group)


async def test_a_step_fails_clearly_once_its_image_is_removed(
    built: Built, engine: DockerClient
) -> None:
    project = make_project(built, "removed")
    (project / "steps" / "hello.py").write_text("print('hello')\n")
    pipeline = pipeline_writer(project)([make_step("hello", "steps/hello.py", [])], {})
    # A tag of our own, so that the session's image stays.
    engine.api.tag(built.built.fingerprint, "jupyter-orchest/test-removed", "1")
    executor = DockerExecutor(
        image="jupyter-orchest/test-removed:1",
        image_id=built.built.fingerprint,
        project_dir=project,
        sdk_parent=built.work / "sdk",
        carried=built.backend.carried,
        grace_period=1.0,
    )
    await executor.start()
    try:
        first = Recorder()
        assert await run(pipeline, executor, first, project / "data") == RunState.SUCCESS
        engine.api.remove_image("jupyter-orchest/test-removed:1")
        second = Recorder()
        assert await run(pipeline, executor, second, project / "data") == RunState.FAILURE
    finally:
        await executor.shutdown()
    message = second.messages["hello"]
    assert "jupyter-orchest/test-removed:1" in message
    assert "build the environment again" in message


async def test_a_notebook_fails_clearly_when_its_container_dies(
    built: Built, engine: DockerClient
) -> None:
    project = make_project(built, "dies")
    cells = ["print('started', flush=True)", "import time; time.sleep(120)"]
    write_notebook(project / "steps" / "slow.ipynb", cells)
    pipeline = pipeline_writer(project)([make_step("slow", "steps/slow.ipynb", [])], {})
    recorder = Recorder()
    executor = executor_for(built)
    await executor.start()
    try:
        run_task = asyncio.ensure_future(run(pipeline, executor, recorder, project / "data"))
        while "started" not in recorder.log_of("slow"):
            assert not run_task.done(), recorder.messages
            await asyncio.sleep(0.1)
        for container in labels.containers_labelled(engine, labels.GROUP, executor.group):
            engine.api.kill(container)
        assert await run_task == RunState.FAILURE
    finally:
        await executor.shutdown()
    assert "its container stopped" in recorder.messages["slow"]
    assert "cell 2" in recorder.messages["slow"]


async def test_cancelling_a_script_stops_its_container(built: Built, engine: DockerClient) -> None:
    project = make_project(built, "cancel")
    (project / "steps" / "forever.sh").write_text("echo started\nsleep 600\n")
    pipeline = pipeline_writer(project)([make_step("forever", "steps/forever.sh", [])], {})
    recorder = Recorder()
    executor = executor_for(built)
    await executor.start()
    try:
        cancelled = runner(pipeline, executor, recorder, project / "data")
        run_task = asyncio.ensure_future(cancelled.run())
        while "started" not in recorder.log_of("forever"):
            assert not run_task.done(), recorder.messages
            await asyncio.sleep(0.1)
        assert labels.containers_labelled(engine, labels.GROUP, executor.group)
        cancelled.cancel()
        assert await run_task == RunState.ABORTED
        assert not labels.containers_labelled(engine, labels.GROUP, executor.group)
    finally:
        await executor.shutdown()


async def test_cancelling_a_notebook_interrupts_its_kernel_in_the_container(
    built: Built, engine: DockerClient
) -> None:
    project = make_project(built, "interrupt")
    cells = [
        "import time\ntry:\n    print('started', flush=True)\n    time.sleep(120)\n"
        "except KeyboardInterrupt:\n    print('interrupted', flush=True)\n    raise",
    ]
    write_notebook(project / "steps" / "slow.ipynb", cells)
    pipeline = pipeline_writer(project)([make_step("slow", "steps/slow.ipynb", [])], {})
    recorder = Recorder()
    executor = executor_for(built)
    await executor.start()
    try:
        cancelled = runner(pipeline, executor, recorder, project / "data")
        run_task = asyncio.ensure_future(cancelled.run())
        while "started" not in recorder.log_of("slow"):
            assert not run_task.done(), recorder.messages
            await asyncio.sleep(0.1)
        cancelled.cancel()
        assert await run_task == RunState.ABORTED
    finally:
        await executor.shutdown()
    # The interrupt reached the kernel (a host process id, signalled from here), and the
    # notebook kept what the cell printed.
    notebook = json.loads((project / "steps" / "slow.ipynb").read_text())
    printed = "".join("".join(o.get("text", "")) for o in notebook["cells"][0]["outputs"])
    assert "interrupted" in printed


async def test_a_kernels_container_that_cannot_start_fails_the_step_clearly(
    built: Built, engine: DockerClient, kit: Any
) -> None:
    broken = engine.containers.run(
        kit.BASE_IMAGE, ["bash", "-c", "rm /usr/bin/python3*"], detach=True
    )
    broken.wait()
    image = broken.commit("jupyter-orchest/test-no-python", "1")
    broken.remove()
    project = make_project(built, "no-python")
    write_notebook(project / "steps" / "hello.ipynb", ["print('never')"])
    pipeline = pipeline_writer(project)([make_step("hello", "steps/hello.ipynb", [])], {})
    recorder = Recorder()
    executor = DockerExecutor(
        image="jupyter-orchest/test-no-python:1",
        image_id=image.id,
        project_dir=project,
        sdk_parent=built.work / "sdk",
        carried=built.backend.carried,
        grace_period=1.0,
    )
    await executor.start()
    try:
        assert await run(pipeline, executor, recorder, project / "data") == RunState.FAILURE
    finally:
        await executor.shutdown()
        engine.api.remove_image(image.id, force=True)
    message = recorder.messages["hello"]
    assert "the container for the environment's kernels" in message
    assert "python3" in message
    assert not labels.containers_labelled(engine, labels.GROUP, executor.group)


FLAKY = """\
from pathlib import Path
marker = Path("tried-{name}")
if not marker.exists():
    marker.touch()
    raise SystemExit("the first attempt failed")
print("worked in", "docker" if Path("/.dockerenv").exists() else "no container")
"""
HANGS = (
    "import subprocess, time\nsubprocess.Popen(['sleep', '301'])\n"
    "print('waiting', flush=True)\ntime.sleep(300)"
)


def processes(engine: DockerClient, group: str, role: str) -> list[str]:
    """The command lines running in the executor's containers of that role."""
    commands = []
    for container in labels.containers_labelled(engine, labels.GROUP, group):
        if engine.api.inspect_container(container)["Config"]["Labels"][labels.ROLE] == role:
            commands += [" ".join(p) for p in engine.api.top(container)["Processes"]]
    return commands


async def test_flaky_steps_succeed_on_their_second_attempt(built: Built) -> None:
    project = make_project(built, "flaky")
    write_notebook(project / "steps" / "flaky.ipynb", [FLAKY.format(name="notebook")])
    pipeline = pipeline_writer(project)(
        [
            make_step("script", "steps/flaky.py", [], retries=1),
            make_step("notebook", "steps/flaky.ipynb", [], retries=1),
        ],
        {"steps/flaky.py": FLAKY.format(name="script")},
    )
    recorder = Recorder()
    executor = executor_for(built)
    await executor.start()
    try:
        state = await run(pipeline, executor, recorder, project / "data")
    finally:
        await executor.shutdown()
    assert state == RunState.SUCCESS, recorder.messages
    for step in ("script", "notebook"):
        log = recorder.log_of(step)
        assert "[attempt 1 of 2]" in log and "the first attempt failed" in log
        assert log.index("[attempt 2 of 2]") < log.index("worked in docker")


async def test_a_script_that_times_out_has_its_container_removed(
    built: Built, engine: DockerClient
) -> None:
    project = make_project(built, "script-timeout")
    pipeline = pipeline_writer(project)(
        [make_step("hangs", "steps/hangs.py", [], timeout=3)], {"steps/hangs.py": HANGS}
    )
    recorder = Recorder()
    executor = executor_for(built)
    await executor.start()
    try:
        running = asyncio.ensure_future(run(pipeline, executor, recorder, project / "data"))
        while "waiting" not in recorder.log_of("hangs"):
            assert not running.done(), recorder.messages
            await asyncio.sleep(0.1)
        assert any("sleep 301" in p for p in processes(engine, executor.group, "script"))
        assert await running == RunState.FAILURE
        assert recorder.states["hangs"] == StepState.FAILURE
        assert recorder.messages["hangs"] == "timed out after 3 s"
        assert not labels.containers_labelled(engine, labels.GROUP, executor.group)
    finally:
        await executor.shutdown()


async def test_a_notebook_that_times_out_leaves_no_process_in_its_container(
    built: Built, engine: DockerClient
) -> None:
    project = make_project(built, "notebook-timeout")
    write_notebook(project / "steps" / "hangs.ipynb", [f"import os\nprint(os.getpid())\n{HANGS}"])
    pipeline = pipeline_writer(project)(
        [make_step("hangs", "steps/hangs.ipynb", [], timeout=3)], {}
    )
    recorder = Recorder()
    executor = executor_for(built)
    await executor.start()
    try:
        running = asyncio.ensure_future(run(pipeline, executor, recorder, project / "data"))
        while "waiting" not in recorder.log_of("hangs"):
            assert not running.done(), recorder.messages
            await asyncio.sleep(0.1)
        kernel = recorder.log_of("hangs").split()[0]  # its process id in the container
        assert any("sleep 301" in p for p in processes(engine, executor.group, "kernels"))
        assert await running == RunState.FAILURE
        assert recorder.messages["hangs"] == "timed out after 3 s"
        for _ in range(50):  # the kernel is killed before the step ends; its child with it
            left = processes(engine, executor.group, "kernels")
            if not any("sleep 301" in p for p in left):
                break
            await asyncio.sleep(0.1)
        assert not any("sleep 301" in p for p in left), left
        (container,) = labels.containers_labelled(engine, labels.GROUP, executor.group)
        alive = engine.api.exec_create(container, ["test", "-e", f"/proc/{kernel}"])
        engine.api.exec_start(alive)
        assert engine.api.exec_inspect(alive)["ExitCode"] == 1, "the kernel is still there"
    finally:
        await executor.shutdown()
    assert not labels.containers_labelled(engine, labels.GROUP, executor.group)


async def test_files_written_in_containers_come_back_from_the_cache_in_a_copy(
    built: Built, tmp_path: Path
) -> None:
    """Steps write /data and /project-dir in their containers; the files land in the host's
    folders, are kept with their results, and a copy of the project gets them back."""
    project = make_project(built, "cached")
    write_notebook(
        project / "steps" / "write.ipynb",
        [
            "import os\n"
            "open('/data/model.txt', 'w').write('model')\n"
            "open('/project-dir/result.txt', 'w').write('result')\n"
            "open('figure.txt', 'w').write('figure')",
        ],
    )
    pipeline_writer(project)(
        [
            make_step("write", "steps/write.ipynb", [], environment=built.environment.uuid),
            make_step("report", "report.sh", ["write"], environment=built.environment.uuid),
        ],
        {"report.sh": "set -eu\nmkdir -p /data/reports\ncp result.txt /data/reports/\n"},
    )
    sources = tmp_path / "sources"
    shutil.copytree(project, sources)
    caching = Caching(
        StepCache(tmp_path / "cache", 1 << 30),
        ProvenanceStore(RunStore(sqlite_url(tmp_path / "orchest.db"))),
    )
    executor = executor_for(built)
    await executor.start()
    try:
        first = await cached_run(project, built.work / "cached-data", "first", executor, caching)
        copy = built.work / "cached-copy"
        shutil.copytree(sources, copy)
        second = await cached_run(copy, built.work / "copy-data", "second", executor, caching)
    finally:
        await executor.shutdown()

    assert first == {"write": False, "report": False}
    assert second == {"write": True, "report": True}
    assert (copy / "result.txt").read_text() == "result"
    assert (copy / "steps" / "figure.txt").read_text() == "figure"
    assert (built.work / "copy-data" / "model.txt").read_text() == "model"
    assert (built.work / "copy-data" / "reports" / "result.txt").read_text() == "result"
    record = caching.ledger.get("first", "write")
    assert record is not None
    assert sorted((f.root, f.path) for f in record.files) == [
        ("data", "model.txt"),
        ("project", "result.txt"),
        ("project", "steps/figure.txt"),
    ]


async def cached_run(
    project: Path, data_dir: Path, run_id: str, executor: StepExecutor, caching: Caching
) -> dict[str, bool]:
    """Run the project's pipeline with `caching`; says which steps came from the cache."""
    pipeline_file = project / "test.orchest"
    definition = parse_definition(pipeline_file.read_text())
    recorder = Recorder()
    runner = prepare_run(
        definition=definition,
        plan=plan_run(definition, pipeline_file, RunType.ALL, None),
        layout=RunLayout.interactive(project, pipeline_file, definition["uuid"], run_id, data_dir),
        executor=executor,
        observer=recorder,
        parallelism=2,
        caching=caching,
    )
    assert await runner.run() == RunState.SUCCESS, recorder.messages
    return {step: recorder.cached[step] for step in recorder.states}
