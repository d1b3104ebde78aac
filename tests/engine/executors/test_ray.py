"""Steps as tasks on a real local Ray instance (2 CPUs), started once for these tests; the
CLI (in its own process) and a server reach it as a cluster."""

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
import ray

from jupyter_orchest.engine.attempts import StepAttempts
from jupyter_orchest.engine.events import NoOpObserver
from jupyter_orchest.engine.executors import LocalExecutor
from jupyter_orchest.engine.executors.ray import RayExecutor
from jupyter_orchest.engine.model import AttemptPolicy, StepResources, StepResult, StepTask
from support import EXAMPLE_PROJECT, FINISHED_RUN_STATES

JUPYTER = Path(sys.executable).parent / "jupyter"


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


@pytest.fixture(autouse=True)
def no_stray_processes(kit: Any, request: pytest.FixtureRequest) -> Iterator[None]:
    """As for the other executors, but Ray's own processes (workers, actors, its daemons)
    come and go as Ray decides: every other process a test started ends. Not checked for a
    server's test: its server stops only after this fixture's end."""
    before = set(kit.descendants())
    yield
    if "jp_serverapp" in request.fixturenames:
        return
    started = [pid for pid in kit.descendants() if pid not in before and not _is_rays(pid)]
    stray = asyncio.run(kit.wait_gone(started))
    assert not stray, [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in stray]


def _is_rays(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return True  # gone
    return command.startswith("ray::") or f"{os.sep}ray{os.sep}" in command


def task_for(folder: Path, name: str, source: str, **fields: Any) -> StepTask:
    folder.mkdir(exist_ok=True)
    file = folder / name
    if name.endswith(".ipynb"):
        notebook = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
        notebook.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3"}}
        notebook.cells = [nbformat.v4.new_code_cell(source)]  # type: ignore[no-untyped-call]
        file.write_text(nbformat.writes(notebook))  # type: ignore[no-untyped-call]
    else:
        file.write_text(source)
    fields = {"project_dir": folder, "data_dir": folder, **fields}
    return StepTask("run-1", "step", "Step", file, None, **fields)


async def run(task: StepTask, recorder: Any) -> tuple[StepResult, str]:
    """The step's result and its log (both streams, in the order they came), tried as its
    attempt policy says, as the engine tries every step."""
    attempts = StepAttempts(RayExecutor("auto"), NoOpObserver(), "pipeline-1")
    result = await attempts.run_step(task, recorder)
    return result, "".join(text for _, _, text in recorder.lines)


def free_cpus() -> float:
    return float(ray.available_resources().get("CPU", 0))  # type: ignore[no-untyped-call]


def orchest_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(JUPYTER), "orchest", "run", *args], capture_output=True, text=True, timeout=300
    )


def test_the_cli_runs_the_example_pipeline_on_a_ray_cluster(tmp_path: Path) -> None:
    project = Path(shutil.copytree(EXAMPLE_PROJECT, tmp_path / "quickstart"))
    done = orchest_run(str(project / "quickstart.orchest"), "--ray", "auto")
    assert done.returncode == 0, done.stdout + done.stderr
    for title in ("Get data", "Clean", "Summarize", "Report"):
        assert f"COMPUTED  {title}" in done.stdout
    summary = nbformat.read(project / "summarize.ipynb", as_version=4)  # type: ignore[no-untyped-call]
    outputs = [out for cell in summary.cells for out in cell.get("outputs", [])]
    assert any("s0" in str(out) for out in outputs)  # written back by the worker
    logs_dir = Path(done.stdout.split("Logs: ")[1].strip())
    logs = "".join(log.read_text() for log in logs_dir.glob("*.log"))
    assert "quickstart pipeline finished at" in logs  # printed on the worker
    assert "the step's environment is not used" in logs  # its steps name one


def test_an_unreachable_cluster_fails_the_run_with_a_clear_message(tmp_path: Path) -> None:
    project = Path(shutil.copytree(EXAMPLE_PROJECT, tmp_path / "quickstart"))
    done = orchest_run(str(project / "quickstart.orchest"), "--ray", "127.0.0.1:1")
    assert done.returncode == 1
    assert "Cannot connect to the Ray cluster at '127.0.0.1:1'" in done.stdout
    assert "Is the cluster running" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


async def test_steps_run_in_ray_workers_and_print_as_they_run(tmp_path: Path, kit: Any) -> None:
    source = (
        "import os, time\nfrom pathlib import Path\n"
        "print('in a worker:', 'RAY_JOB_ID' in os.environ, flush=True)\n"
        "for _ in range(1200):\n    if Path('go').exists(): break\n    time.sleep(0.05)\n"
        "print('went on')"
    )
    recorder = kit.Recorder()
    running = asyncio.ensure_future(run(task_for(tmp_path, "live.py", source), recorder))
    await recorder.wait_for("in a worker: True")  # while the step still waits for `go`
    (tmp_path / "go").touch()
    result, log = await running
    assert result.succeeded, log
    assert log.endswith("went on\n")


@pytest.mark.parametrize("name", ["fails.ipynb", "fails.py"])
async def test_a_failing_steps_output_reaches_the_log(name: str, tmp_path: Path, kit: Any) -> None:
    source = "print('computed half of it')\nraise ValueError('the input is empty')"
    result, log = await run(task_for(tmp_path, name, source), kit.Recorder())
    assert not result.succeeded
    assert "computed half of it" in log
    assert "the input is empty" in log + result.message
    if name.endswith(".ipynb"):  # the outputs are written back, as locally
        cell = kit.read_notebook(tmp_path / name)["cells"][0]
        assert "computed half of it" in kit.stdout_of(cell)


async def test_a_failed_attempt_is_retried_as_the_step_says(tmp_path: Path, kit: Any) -> None:
    source = (
        "from pathlib import Path\nmarker = Path('tried')\n"
        "if not marker.exists():\n    marker.write_text('1')\n"
        "    raise SystemExit('first try failed')\n"
        "print('second try worked')"
    )
    result, log = await run(task_for(tmp_path / "once", "flaky.py", source), kit.Recorder())
    assert not result.succeeded
    assert "first try failed" in log and "[attempt" not in log
    retried = task_for(tmp_path / "retried", "flaky.py", source, attempts=AttemptPolicy(1))
    result, log = await run(retried, kit.Recorder())
    assert result.succeeded, log
    order = ["[attempt 1 of 2]", "first try failed", "[attempt 2 of 2]", "second try worked"]
    positions = [log.find(text) for text in order]
    assert -1 not in positions and positions == sorted(positions), log


@pytest.mark.parametrize("retries", [0, 1])
async def test_a_step_whose_worker_dies(retries: int, tmp_path: Path, kit: Any) -> None:
    # The script kills the Ray worker running it (its parent), once the test has seen its
    # line in the log; on a second attempt it does not.
    source = (
        "import os, signal, time\nfrom pathlib import Path\n"
        "if Path('died').exists():\n    print('second attempt'); raise SystemExit(0)\n"
        "print('before the worker died', flush=True)\n"
        "for _ in range(1200):\n    if Path('die').exists(): break\n    time.sleep(0.05)\n"
        "Path('died').touch()\nos.kill(os.getppid(), signal.SIGKILL)"
    )
    recorder = kit.Recorder()
    task = task_for(tmp_path, "dies.py", source, attempts=AttemptPolicy(retries))
    running = asyncio.ensure_future(run(task, recorder))
    await recorder.wait_for("before the worker died")
    (tmp_path / "die").touch()
    result, log = await running
    assert "before the worker died" in log
    if retries:
        assert result.succeeded, log
        assert "[attempt 2 of 2]" in log and "second attempt" in log
    else:
        assert not result.succeeded
        assert result.message.startswith("The step's Ray worker failed:"), result.message


async def test_a_step_that_times_out_on_ray_leaves_no_process(tmp_path: Path, kit: Any) -> None:
    source = "import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(300)"
    task = task_for(tmp_path, "slow.py", source, attempts=AttemptPolicy(timeout=3))
    result, log = await run(task, kit.Recorder())
    assert (result.succeeded, result.message) == (False, "timed out after 3 s")
    assert await kit.wait_gone([int(log)]) == []
    deadline = time.monotonic() + 30
    while free_cpus() != 2:  # its task holds no CPU any more
        assert time.monotonic() < deadline, free_cpus()
        await asyncio.sleep(0.1)


async def test_resources_reach_ray_and_impossible_ones_fail_at_once(
    tmp_path: Path, kit: Any
) -> None:
    source = "import os\nprint('threads', os.environ.get('OMP_NUM_THREADS'))"
    both = task_for(tmp_path, "both.py", source, resources=StepResources(cpus=2))
    result, log = await run(both, kit.Recorder())
    assert result.succeeded, log
    assert "threads 2" in log  # Ray sets a task's thread count from its CPUs
    impossible = {
        "3 CPU but the whole Ray cluster has 2": StepResources(cpus=3),
        "1 GPU but the whole Ray cluster has 0": StepResources(gpus=1),
        "bytes of memory but the whole Ray cluster has": StepResources(memory=2**50),
    }
    for message, resources in impossible.items():
        big = task_for(tmp_path, "big.py", source, resources=resources)
        result, _ = await run(big, kit.Recorder())
        assert not result.succeeded
        assert message in result.message and "lower the step's `resources`" in result.message


async def test_a_step_whose_folders_the_workers_cannot_see_says_so(
    tmp_path: Path, kit: Any
) -> None:
    task = task_for(tmp_path, "step.py", "print(1)", project_dir=tmp_path / "not-shared")
    result, _ = await run(task, kit.Recorder())
    assert not result.succeeded
    assert "not-shared cannot be found on the Ray worker" in result.message
    assert "reachable at the same paths from every worker" in result.message


async def test_cancelling_a_step_stops_its_process_and_frees_the_cluster(
    tmp_path: Path, kit: Any
) -> None:
    source = "import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(300)"
    recorder = kit.Recorder()
    running = asyncio.ensure_future(run(task_for(tmp_path, "slow.py", source), recorder))
    deadline = time.monotonic() + 60
    while not recorder.text("stdout").strip():
        assert time.monotonic() < deadline, "the step never started"
        await asyncio.sleep(0.05)
    pid = int(recorder.text("stdout"))
    assert free_cpus() == 1  # the step holds one of the two
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert await kit.wait_gone([pid]) == []
    deadline = time.monotonic() + 30
    while free_cpus() != 2:  # no task holds a CPU any more
        assert time.monotonic() < deadline, free_cpus()
        await asyncio.sleep(0.1)


async def test_the_workers_software_is_the_steps_identity(tmp_path: Path) -> None:
    task = task_for(tmp_path, "step.py", "")
    on_ray = await RayExecutor("auto").environment_identity(task)
    # The workers run on this machine, with this Python: the same software as locally.
    assert on_ray == await LocalExecutor(pool_size=0).environment_identity(task)
    notebook = task_for(tmp_path, "step.ipynb", "")
    assert await RayExecutor("auto").environment_identity(notebook) not in ("", on_ray)


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
    pipeline = "quickstart/quickstart.orchest"
    for executor, expected in ((None, "RayExecutor"), ("local", "LocalExecutor")):
        body = {"pipeline": pipeline, "force": True}
        if executor is not None:
            body["executor"] = executor
        code, run = await api("POST", "runs", body=body)
        assert code == 201, run
        while run["state"] not in FINISHED_RUN_STATES:
            await asyncio.sleep(0.2)
            code, run = await api("GET", "runs", run["id"])
        assert run["state"] == "SUCCESS", [(s["title"], s["message"]) for s in run["steps"]]
        report = next(s for s in run["steps"] if s["title"] == "Report")
        code, log = await api("GET", "runs", run["id"], "steps", report["uuid"], "log")
        assert "quickstart pipeline finished at" in log
        code, provenance = await api(
            "GET", "runs", run["id"], "steps", report["uuid"], "provenance"
        )
        assert provenance["executor"] == expected
