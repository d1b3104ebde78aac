"""Kernels: which one a notebook gets, kernels of other kernelspecs, pre-started kernels that
went stale, and no kernel outliving the executor or the server."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

from jupyter_orchest.engine.executors import LocalExecutor, local
from jupyter_orchest.engine.executors.kernels import (
    ASSIGNMENT_VARIABLE,
    KernelChoiceError,
    KernelKey,
    choose_kernel,
    client_context,
    kernel_key,
    start_managed_kernel,
)
from jupyter_orchest.engine.model import StepTask

MakeTask = Callable[..., StepTask]
Kit = Any


def spec(language: str, **fields: Any) -> KernelSpec:
    return KernelSpec(argv=["x"], display_name=language, language=language, **fields)


SPECS = {"python3": spec("python"), "other-python": spec("python"), "ir": spec("R")}


@pytest.mark.parametrize(
    ("asked", "metadata", "chosen"),
    [
        ("ir", {"kernelspec": {"name": "python3"}}, "ir"),  # the step's choice first
        (None, {"kernelspec": {"name": "other-python"}}, "other-python"),
        ("nope", {"kernelspec": {"name": "ir"}}, "ir"),
        ("python", {}, "python3"),  # Orchest's pipeline files say "python"
        (None, {"kernelspec": {"name": "orchest-kernel-1", "language": "python"}}, "python3"),
        (None, {"language_info": {"name": "R"}}, "ir"),
        (
            "orchest-kernel-1",
            {"kernelspec": {"name": "orchest-kernel-1"}, "language_info": {"name": "python"}},
            "python3",
        ),
    ],
)
def test_choose_kernel(asked: str | None, metadata: dict[str, Any], chosen: str) -> None:
    assert choose_kernel(asked, metadata, SPECS) == chosen


def test_no_kernel_fits() -> None:
    with pytest.raises(KernelChoiceError) as raised:
        choose_kernel("orchest-kernel-1", {"kernelspec": {"name": "julia-1.9"}}, SPECS)
    message = str(raised.value)
    assert "'orchest-kernel-1' or 'julia-1.9'" in message and "(language julia)" in message
    assert "installed kernels: ir, other-python, python3" in message


def test_variables_read_at_start_up_are_part_of_a_kernels_key() -> None:
    python = KernelSpec(argv=["x"], language="python", env={"SPEC_VAR": "x"})
    env = {"ORCHEST_STEP_UUID": "1", "PYTHONPATH": "/a", "LC_ALL": "C", "SPEC_VAR": "y"}
    assert kernel_key("python3", python, env) == KernelKey(
        "python3", (("LC_ALL", "C"), ("PYTHONPATH", "/a"), ("SPEC_VAR", "y"))
    )


@pytest.fixture
def kernel_specs(tmp_path: Path) -> KernelSpecManager:
    """Kernelspecs of an echo kernel (not Python) and of a Python kernel with a variable."""
    kernels = tmp_path / "kernels"
    specs = {
        "echo": {
            "argv": [sys.executable, "-m", "pytest_jupyter.echo_kernel", "-f", "{connection_file}"],
            "display_name": "Echo",
            "language": "echo",
        },
        "python-with-env": {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python with a variable",
            "language": "python",
            "env": {"FROM_SPEC": "spec"},
        },
    }
    for name, content in specs.items():
        (kernels / name).mkdir(parents=True)
        (kernels / name / "kernel.json").write_text(json.dumps(content))
    return KernelSpecManager(kernel_dirs=[str(kernels)])


async def test_a_kernel_of_another_language_runs_the_notebook(
    tmp_path: Path, make_task: MakeTask, kit: Kit, kernel_specs: KernelSpecManager
) -> None:
    path = tmp_path / "echo.ipynb"
    kit.write_notebook(
        path, ["hello", "world"], {"kernelspec": {"name": "echo", "display_name": "E"}}
    )
    reporter = kit.Recorder()
    async with LocalExecutor(kernel_spec_manager=kernel_specs, pool_size=2) as executor:
        task = make_task(path)
        executor.expect([task])  # not started ahead: only IPython kernels can be
        result = await executor.run_step(task, reporter)
    assert result.succeeded, result.message
    cells = kit.read_notebook(path)["cells"]
    assert [kit.stdout_of(cell) for cell in cells] == ["hello", "world"]
    assert reporter.text("stdout") == "helloworld"


@pytest.mark.parametrize("ahead", [False, True])
async def test_a_kernelspecs_own_variables_win_as_when_it_starts(
    tmp_path: Path,
    make_task: MakeTask,
    kit: Kit,
    kernel_specs: KernelSpecManager,
    ahead: bool,
) -> None:
    path = tmp_path / "env.ipynb"
    source = "import os; print(os.environ['FROM_SPEC'], os.environ['FROM_STEP'], os.getpid())"
    kit.write_notebook(
        path, [source], {"kernelspec": {"name": "python-with-env", "display_name": "P"}}
    )
    task = make_task(path, env={"FROM_SPEC": "step", "FROM_STEP": "step"})
    async with LocalExecutor(kernel_spec_manager=kernel_specs, pool_size=1) as executor:
        if ahead:
            executor.expect([task])
            await asyncio.sleep(2)
        waiting = kit.descendants()
        result = await executor.run_step(task, kit.Recorder())
    assert result.succeeded, result.message
    first, second, pid = kit.stdout_of(kit.read_notebook(path)["cells"][0]).split()
    assert (first, second) == ("spec", "step")
    assert (int(pid) in waiting) is ahead


async def test_a_kernel_that_saw_packages_change_is_not_handed_out(tmp_path: Path) -> None:
    assignment = tmp_path / "assignment.json"
    env = {**os.environ, ASSIGNMENT_VARIABLE: str(assignment)}
    context = client_context()
    kernel = await start_managed_kernel(
        KernelKey("python3"), KernelSpecManager(), tmp_path, env, 60, 3, context, tmp_path / "k"
    )
    try:
        kernel.assignment = assignment
        kernel.started = 0  # as if site-packages changed after it started
        with pytest.raises(RuntimeError, match="packages changed since this kernel started"):
            await kernel.assign(tmp_path, {}, 10)
    finally:
        await kernel.kill()
        context.destroy()


def niceness_of_threads(pid: int) -> set[int]:
    """The niceness of every thread of the process (Linux keeps it per thread)."""
    values = set()
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        fields = stat.read_text().rsplit(")", 1)[1].split()
        values.add(int(fields[16]))  # the 19th field of stat; the first two are cut off
    return values


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads Linux's /proc")
async def test_a_kernel_about_to_shut_down_yields_the_cpu(tmp_path: Path) -> None:
    context = client_context()
    kernel = await start_managed_kernel(
        KernelKey("python3"),
        KernelSpecManager(),
        tmp_path,
        dict(os.environ),
        60,
        3,
        context,
        tmp_path / "k",
    )
    try:
        assert niceness_of_threads(kernel.pid) == {os.getpriority(os.PRIO_PROCESS, 0)}
        kernel.yield_cpu()
        assert niceness_of_threads(kernel.pid) == {19}
    finally:
        await kernel.shutdown()
        context.destroy()


async def test_shutdown_stops_every_kernel_started_ahead(
    tmp_path: Path, make_task: MakeTask, kit: Kit
) -> None:
    before = set(kit.descendants())
    path = tmp_path / "later.ipynb"
    kit.write_notebook(path, ["1"])
    executor = LocalExecutor(standby_kernels=2, pool_size=4)
    await executor.start()
    executor.expect([make_task(path), make_task(path, env={"PYTHONHASHSEED": "1"})])
    await asyncio.sleep(2)
    started = [pid for pid in kit.descendants() if pid not in before]
    assert len(started) >= 4, "the fork server and three kernels, at least"
    await executor.shutdown()
    assert not [pid for pid in started if kit.is_running(pid)]


SERVER = """\
import asyncio, os
from jupyter_orchest.engine.executors import LocalExecutor

async def main():
    forked = LocalExecutor(standby_kernels=1, fork_kernels=True)
    started = LocalExecutor(standby_kernels=1, fork_kernels=False)
    await forked.start()
    await started.start()
    await asyncio.sleep(3)
    print("ready", flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


async def test_kernels_exit_when_the_server_dies(tmp_path: Path, kit: Kit) -> None:
    server = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(SERVER)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = await asyncio.to_thread(server.stdout.readline)
        assert line == "ready\n"
        started = kit.descendants(server.pid)
        assert len(started) >= 3, "a fork server and two kernels, at least"
        server.send_signal(signal.SIGKILL)  # no chance to clean up
        server.wait()
        # ipykernel checks its parent every second.
        assert not await kit.wait_gone(started, timeout=10)
    finally:
        server.kill()
        server.wait()


async def test_a_fork_server_that_dies_fails_its_kernels_steps_and_is_replaced(
    tmp_path: Path, make_task: MakeTask, kit: Kit
) -> None:
    path = tmp_path / "waits.ipynb"
    kit.write_notebook(path, ["import os, time\nprint(os.getppid(), flush=True)\ntime.sleep(60)"])
    reporter = kit.Recorder()
    async with LocalExecutor(pool_size=0, standby_kernels=0) as executor:
        step = asyncio.ensure_future(executor.run_step(make_task(path), reporter))
        await reporter.wait_for("\n")
        fork_server = int(reporter.text("stdout"))
        os.kill(fork_server, signal.SIGKILL)
        result = await asyncio.wait_for(step, 10)
        assert not result.succeeded
        assert result.message.startswith("the kernel died while running cell 1")
        path = tmp_path / "next.ipynb"
        kit.write_notebook(path, ["print('fine')"])
        again = await executor.run_step(make_task(path), reporter)
        assert again.succeeded, again.message


async def test_the_runtime_folder_of_a_dead_executor_is_removed(
    tmp_path: Path, make_task: MakeTask, kit: Kit
) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    orphan = Path(tempfile.gettempdir()) / f"jupyter-orchest-{dead.stdout.strip()}-abcd1234"
    orphan.mkdir()
    (orphan / "kernel-1.json").write_text("{}")
    path = tmp_path / "step.ipynb"
    kit.write_notebook(path, ["1"])
    async with LocalExecutor(pool_size=0, standby_kernels=0) as executor:
        result = await executor.run_step(make_task(path), kit.Recorder())
        assert result.succeeded, result.message
    assert not orphan.exists()


async def wait_for_pool(executor: LocalExecutor, key: KernelKey, count: int) -> None:
    for _ in range(600):
        assert executor._pool is not None
        if executor._pool.count(key) == count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the pool never held {count} {key.name} kernels")


async def test_standby_kernels_are_started_only_once_notebook_steps_pause(
    tmp_path: Path, make_task: MakeTask, kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A standby kernel serves the next run: its start must not compete with this one, or
    with a run started right after, so it waits until no notebook step ran for a while."""
    standby = KernelKey("python3")
    path = tmp_path / "step.ipynb"
    kit.write_notebook(path, ["1"])
    async with LocalExecutor(standby_kernels=1) as executor:
        await executor.start()
        await wait_for_pool(executor, standby, 1)  # idle from the start
        monkeypatch.setattr(local, "STANDBY_DELAY", 600.0)
        result = await executor.run_step(make_task(path), kit.Recorder())
        assert result.succeeded, result.message
        await asyncio.sleep(1)
        assert executor._pool is not None and executor._pool.count(standby) == 0
        monkeypatch.setattr(local, "STANDBY_DELAY", 0.0)
        executor._rebalance_pool()  # as the timer set at the step's end would, later
        await wait_for_pool(executor, standby, 1)
