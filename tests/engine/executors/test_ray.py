"""Steps as tasks on a real local Ray instance (2 CPUs), started once for these tests."""

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_orchest.cli import main
from jupyter_orchest.engine.executors.ray import RayExecutor
from jupyter_orchest.engine.model import StepResources, StepTask
from support import EXAMPLE_PROJECT

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module", autouse=True)
def ray_instance() -> Iterator[None]:
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=80 * 1024 * 1024,
        log_to_driver=False,
    )
    yield
    ray.shutdown()


def task_for(tmp_path: Path, name: str, source: str, **fields: Any) -> StepTask:
    file = tmp_path / name
    if name.endswith(".ipynb"):
        notebook = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
        notebook.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3"}}
        notebook.cells = [nbformat.v4.new_code_cell(source)]  # type: ignore[no-untyped-call]
        file.write_text(nbformat.writes(notebook))  # type: ignore[no-untyped-call]
    else:
        file.write_text(source)
    return StepTask(
        "run-1", "step", "Step", file, None, project_dir=tmp_path, data_dir=tmp_path, **fields
    )


async def run(task: StepTask, kit: Any) -> tuple[Any, str]:
    recorder = kit.Recorder()
    result = await RayExecutor("auto").run_step(task, recorder)
    return result, recorder.text("stdout") + recorder.text("stderr")


def test_the_example_pipeline_runs_on_ray(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    project = Path(shutil.copytree(EXAMPLE_PROJECT, tmp_path / "quickstart"))
    code = main(["run", str(project / "quickstart.orchest"), "--ray", "auto"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    for title in ("Get data", "Clean", "Summarize", "Report"):
        assert f"COMPUTED  {title}" in printed
    summary = nbformat.read(project / "summarize.ipynb", as_version=4)
    outputs = [out for cell in summary.cells for out in cell.get("outputs", [])]
    assert any("s0" in str(out) for out in outputs)  # written back from the worker


async def test_steps_run_in_ray_workers(tmp_path: Path, kit: Any) -> None:
    source = "import os\nprint('worker', os.environ.get('RAY_JOB_ID') is not None)"
    result, log = await run(task_for(tmp_path, "where.py", source), kit)
    assert result.succeeded, log
    assert "worker True" in log


@pytest.mark.parametrize("name", ["fails.ipynb", "fails.py"])
async def test_a_failing_steps_output_reaches_the_log(name: str, tmp_path: Path, kit: Any) -> None:
    source = "print('computed half of it')\nraise ValueError('the input is empty')"
    result, log = await run(task_for(tmp_path, name, source), kit)
    assert not result.succeeded
    assert "computed half of it" in log
    assert "the input is empty" in log + result.message


async def test_a_failed_attempt_is_retried_as_the_step_says(tmp_path: Path, kit: Any) -> None:
    source = (
        "from pathlib import Path\nmarker = Path('tried')\n"
        "if not marker.exists():\n    marker.write_text('1')\n    raise SystemExit('first try')\n"
        "print('second try worked')"
    )
    no_retry = task_for(_folder(tmp_path, "a"), "flaky.py", source)
    result, _ = await run(no_retry, kit)
    assert not result.succeeded
    retried = task_for(_folder(tmp_path, "b"), "flaky.py", source, retries=1)
    result, log = await run(retried, kit)
    assert result.succeeded, log
    assert "second try worked" in log


async def test_resources_go_to_ray_and_impossible_ones_fail_at_once(
    tmp_path: Path, kit: Any
) -> None:
    source = "import os\nprint('cpus', os.environ.get('OMP_NUM_THREADS'))"
    both = task_for(tmp_path, "both.py", source, resources=StepResources(cpus=2))
    result, log = await run(both, kit)
    assert result.succeeded, log
    assert "cpus 2" in log  # Ray sets the thread count from the task's CPUs
    three = task_for(tmp_path, "three.py", source, resources=StepResources(cpus=3))
    result, _ = await run(three, kit)
    assert not result.succeeded
    assert "asks for 3 CPU but the whole Ray cluster has 2" in result.message


async def test_a_step_whose_folders_the_workers_cannot_see_says_so(
    tmp_path: Path, kit: Any
) -> None:
    task = task_for(tmp_path, "step.py", "print(1)")
    elsewhere = StepTask(
        task.run_id,
        task.step_uuid,
        task.title,
        task.file,
        None,
        project_dir=tmp_path / "not-shared",
        data_dir=tmp_path,
    )
    result, _ = await run(elsewhere, kit)
    assert not result.succeeded
    assert "reachable at the same paths from every worker" in result.message


async def test_cancelling_a_step_stops_its_process(tmp_path: Path, kit: Any) -> None:
    source = "import os, time\nopen('pid', 'w').write(str(os.getpid()))\ntime.sleep(120)"
    task = task_for(tmp_path, "slow.py", source)
    running = asyncio.ensure_future(run(task, kit))
    for _ in range(300):
        if (tmp_path / "pid").is_file() and (tmp_path / "pid").read_text():
            break
        await asyncio.sleep(0.1)
    pid = int((tmp_path / "pid").read_text())
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    for _ in range(100):
        if not kit.is_running(pid):
            break
        await asyncio.sleep(0.1)
    assert not kit.is_running(pid)


def _folder(parent: Path, name: str) -> Path:
    folder = parent / name
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_orchest": True}},
        "OrchestApp": {"environment_backend": "none", "ray_address": "auto"},
    }


async def test_a_server_with_a_ray_address_runs_its_pipelines_there(
    api: Any, jp_root_dir: Path
) -> None:
    shutil.copytree(EXAMPLE_PROJECT, jp_root_dir / "quickstart")
    code, run = await api("POST", "runs", body={"pipeline": "quickstart/quickstart.orchest"})
    assert code == 201, run
    while run["state"] not in ("SUCCESS", "FAILURE", "ABORTED"):
        await asyncio.sleep(0.2)
        code, run = await api("GET", "runs", run["id"])
    assert run["state"] == "SUCCESS", [(s["title"], s["message"]) for s in run["steps"]]
    report = next(s for s in run["steps"] if s["title"] == "Report")
    code, log = await api("GET", "runs", run["id"], "steps", report["uuid"], "log")
    assert "quickstart pipeline finished at" in log  # printed on the worker
    code, provenance = await api("GET", "runs", run["id"], "steps", report["uuid"], "provenance")
    assert provenance["executor"] == "RayExecutor"
