"""Notebook steps through the local executor, in real kernels."""

import asyncio
import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_orchest.engine.executors import LocalExecutor
from jupyter_orchest.engine.model import StepTask

MakeTask = Callable[..., StepTask]
Kit = Any

# Fresh kernels only, unless a test is about pre-started ones: each test then pays one start.
FRESH: dict[str, Any] = {"pool_size": 0, "standby_kernels": 0}


async def test_outputs_are_written_back_keeping_everything_else(
    tmp_path: Path, make_task: MakeTask, kit: Kit
) -> None:
    path = tmp_path / "analysis.ipynb"
    metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "orchest": {"custom": [1, 2, 3]},
    }
    original = kit.write_notebook(
        path,
        [
            "print('hello')",
            ("raise SystemExit('skipped cells do not run')", ["skip"]),
            "import sys; print('oops', file=sys.stderr)",
            "40 + 2",
            "",
        ],
        metadata,
    )
    # Outputs from an earlier run: replaced where cells run again, kept where they do not.
    data = json.loads(path.read_text())
    old = {"output_type": "stream", "name": "stdout", "text": ["old\n"]}
    for cell in data["cells"]:
        cell["outputs"] = [old]
        cell["execution_count"] = 7
    data["cells"][0]["metadata"]["collapsed"] = True
    path.write_text(json.dumps(data))
    path.chmod(0o640)
    reporter = kit.Recorder()

    async with LocalExecutor(**FRESH) as executor:
        result = await executor.run_step(make_task(path), reporter)

    assert result.succeeded, result.message
    notebook = kit.read_notebook(path)
    assert notebook["metadata"] == metadata
    assert notebook["nbformat"] == 4
    cells = notebook["cells"]
    assert [cell["id"] for cell in cells] == [cell.id for cell in original.cells]
    assert cells[0]["metadata"] == {"collapsed": True}
    assert kit.stdout_of(cells[0]) == "hello\n" and cells[0]["execution_count"] == 1
    assert cells[1]["outputs"] == [old] and cells[1]["execution_count"] == 7
    assert cells[1]["metadata"]["tags"] == ["skip"]
    assert cells[2]["outputs"] == [{"output_type": "stream", "name": "stderr", "text": ["oops\n"]}]
    assert cells[3]["outputs"][0]["data"] == {"text/plain": ["42"]}
    assert cells[3]["execution_count"] == 3
    assert cells[4]["outputs"] == [] and cells[4]["execution_count"] is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    # Laid out byte for byte as nbformat, and so JupyterLab, writes it.
    text = path.read_text()
    assert text == nbformat.writes(nbformat.reads(text, as_version=4)) + "\n"  # type: ignore[no-untyped-call]
    assert reporter.text("stdout") == "hello\n"
    assert reporter.text("stderr") == "oops\n"
    assert [p.name for p in tmp_path.iterdir()] == ["analysis.ipynb"]


async def test_each_cell_is_saved_before_the_next_one_runs(
    tmp_path: Path, make_task: MakeTask, kit: Kit
) -> None:
    path = tmp_path / "self.ipynb"
    kit.write_notebook(
        path,
        [
            "print('first output')",
            "import json\n"
            "cells = json.load(open('self.ipynb'))['cells']\n"
            "print(''.join(cells[0]['outputs'][0]['text']).strip(), cells[0]['execution_count'])",
        ],
    )
    async with LocalExecutor(**FRESH) as executor:
        result = await executor.run_step(make_task(path), kit.Recorder())
    assert result.succeeded, result.message
    cells = kit.read_notebook(path)["cells"]
    assert kit.stdout_of(cells[1]) == "first output 1\n"


async def test_outputs_reach_the_reporter_while_the_cell_runs(
    tmp_path: Path, make_task: MakeTask, kit: Kit
) -> None:
    path = tmp_path / "progress.ipynb"
    kit.write_notebook(
        path,
        [
            "import sys, time\nprint('first', flush=True)\ntime.sleep(1)\nprint('second')\n"
            "print('progress 10%\\r', end='', file=sys.stderr)\n"
            "print('progress 99%', file=sys.stderr)"
        ],
    )
    reporter = kit.Recorder()
    async with LocalExecutor(**FRESH) as executor:
        result = await executor.run_step(make_task(path), reporter)
    assert result.succeeded, result.message
    stdout = [(at, text) for at, stream, text in reporter.lines if stream == "stdout"]
    assert [text for _, text in stdout] == ["first\n", "second\n"]
    assert stdout[1][0] - stdout[0][0] > 0.5
    outputs = kit.read_notebook(path)["cells"][0]["outputs"]
    assert outputs[0]["text"] == ["first\n", "second\n"]  # one output, as JupyterLab shows
    assert outputs[1]["text"] == ["progress 99%\n"]  # the carriage return went back


STATE = """\
import json, os, sys
print(json.dumps({
    "cwd": os.getcwd(),
    "sys_path": sys.path,
    "dh": [str(d) for d in _dh],
    "environ": dict(os.environ),
    "argv0": sys.argv[0],
    "pid": os.getpid(),
    "parent": open(f"/proc/{os.getppid()}/cmdline").read(),
    "names": sorted(name for name in globals() if not name.startswith("_")),
}))
"""


def kernel_state(kit: Kit, path: Path) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(kit.stdout_of(kit.read_notebook(path)["cells"][0]))
    return state


async def test_a_fresh_kernel_runs_in_the_notebooks_folder_with_the_steps_variables(
    tmp_path: Path, make_task: MakeTask, kit: Kit
) -> None:
    folder = tmp_path / "some folder"
    folder.mkdir()
    path = folder / "state.ipynb"
    kit.write_notebook(path, [STATE])
    task = make_task(path, env={"ORCHEST_STEP_UUID": "abc", "PYTHONHASHSEED": "7"})
    async with LocalExecutor(**FRESH) as executor:
        result = await executor.run_step(task, kit.Recorder())
    assert result.succeeded, result.message
    state = kernel_state(kit, path)
    assert state["cwd"] == str(folder)
    assert state["dh"] == [str(folder)]
    assert state["environ"]["ORCHEST_STEP_UUID"] == "abc"
    assert state["environ"]["PYTHONHASHSEED"] == "7"


WAYS: dict[str, tuple[dict[str, Any], bool]] = {
    "forked": ({"fork_kernels": True, **FRESH}, False),
    "started ahead": ({"fork_kernels": False, "pool_size": 1, "standby_kernels": 0}, True),
    "forked ahead": ({"fork_kernels": True, "pool_size": 1, "standby_kernels": 0}, True),
}


@pytest.mark.parametrize("env", [{}, {"PYTHONHASHSEED": "5"}], ids=["plain", "startup variable"])
@pytest.mark.parametrize("way", sorted(WAYS))
async def test_every_way_of_getting_a_kernel_gives_the_same_kernel(
    tmp_path: Path, make_task: MakeTask, kit: Kit, way: str, env: dict[str, str]
) -> None:
    """Forked or started, ahead of need or for the step: the step sees the kernel that
    jupyter_client would have started in the notebook's folder for it."""
    folder = tmp_path / "project"
    folder.mkdir()
    reference_path, path = folder / "reference.ipynb", folder / "other.ipynb"
    for notebook in (reference_path, path):
        kit.write_notebook(notebook, [STATE])
    env = {**env, "ORCHEST_STEP_UUID": "abc", "DATA": "x'; import os; os._exit(3) #\n\""}
    options, ahead = WAYS[way]

    async with LocalExecutor(fork_kernels=False, **FRESH) as executor:
        reference = await executor.run_step(make_task(reference_path, env=env), kit.Recorder())
    async with LocalExecutor(**options) as executor:
        task = make_task(path, env=env)
        if ahead:
            executor.expect([task])
            await asyncio.sleep(2)  # the kernel is started and ready long before the step
        waiting = kit.descendants()
        result = await executor.run_step(task, kit.Recorder())

    assert reference.succeeded and result.succeeded, (reference, result)
    expected, state = kernel_state(kit, reference_path), kernel_state(kit, path)
    assert state["environ"]["DATA"] == env["DATA"]
    assert (state.pop("pid") in waiting) is ahead, "the kernel was not started ahead of need"
    forked = "_forkserver_main.py" in state.pop("parent")
    assert forked is (options["fork_kernels"] and "PYTHONHASHSEED" not in env)
    expected.pop("pid"), expected.pop("parent")
    assert state == expected


async def test_an_error_fails_the_step_naming_the_cell_and_later_cells_do_not_run(
    tmp_path: Path, make_task: MakeTask, kit: Kit
) -> None:
    path = tmp_path / "broken.ipynb"
    kit.write_notebook(path, ["x = 1", "# a comment", "print('before')\n1 / 0", "x = 2"])
    data = json.loads(path.read_text())
    data["cells"][3]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["old"]}]
    path.write_text(json.dumps(data))
    reporter = kit.Recorder()
    async with LocalExecutor(**FRESH) as executor:
        result = await executor.run_step(make_task(path), reporter)
    assert not result.succeeded
    assert result.message == "ZeroDivisionError: division by zero in cell 3"
    cells = kit.read_notebook(path)["cells"]
    assert kit.stdout_of(cells[2]) == "before\n"
    error = cells[2]["outputs"][-1]
    assert error["output_type"] == "error" and error["ename"] == "ZeroDivisionError"
    assert cells[3]["outputs"] == data["cells"][3]["outputs"], "a later cell ran"
    logged = reporter.text("stderr")
    assert "ZeroDivisionError" in logged and "1 / 0" in logged
    assert "\x1b" not in logged


async def test_a_kernel_that_dies_fails_the_step_at_once_keeping_the_file(
    tmp_path: Path, make_task: MakeTask, kit: Kit
) -> None:
    path = tmp_path / "dies.ipynb"
    kit.write_notebook(
        path,
        ["print('alive')", "import os, sys\nprint('dying'); sys.stdout.flush()\nos._exit(1)", "1"],
    )
    async with LocalExecutor(**FRESH) as executor:
        started = asyncio.get_running_loop().time()
        result = await executor.run_step(make_task(path), kit.Recorder())
        elapsed = asyncio.get_running_loop().time() - started
    assert not result.succeeded
    assert result.message.startswith("the kernel died while running cell 2"), result.message
    assert "exit code 1" in result.message
    assert elapsed < 20, "death was noticed by a timeout, not at once"
    cells = kit.read_notebook(path)["cells"]
    assert kit.stdout_of(cells[0]) == "alive\n"
    assert cells[2]["outputs"] == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"cells": [', "it is not valid JSON"),
        ("[1, 2]", "it has no nbformat version"),
        ('{"nbformat": 4, "nbformat_minor": 5, "cells": 3}', "is not a valid notebook"),
        (b"\xff\xfe garbage", "it is not UTF-8 text"),
        ('{"nbformat": 3, "nbformat_minor": 0, "worksheets": []}', "save it to convert it"),
        ('{"nbformat": 4, "nbformat_minor": 5, "cells": [{"source": "1"}]}', "cell 1 has no"),
    ],
)
async def test_a_file_that_is_not_a_notebook_fails_the_step_untouched(
    tmp_path: Path, make_task: MakeTask, kit: Kit, content: str | bytes, expected: str
) -> None:
    path = tmp_path / "bad.ipynb"
    data = content.encode() if isinstance(content, str) else content
    path.write_bytes(data)
    before = path.stat()
    async with LocalExecutor(**FRESH) as executor:
        result = await executor.run_step(make_task(path), kit.Recorder())
    assert not result.succeeded
    assert expected in result.message and "bad.ipynb" in result.message
    assert path.read_bytes() == data
    assert path.stat().st_mtime_ns == before.st_mtime_ns


async def test_a_notebook_with_metadata_outside_the_schema_runs_as_in_jupyterlab(
    tmp_path: Path, make_task: MakeTask, kit: Kit
) -> None:
    path = tmp_path / "sloppy.ipynb"
    kit.write_notebook(path, ["print(1)"])
    data = json.loads(path.read_text())
    data["metadata"]["kernelspec"] = {"name": "python3"}  # no display_name
    path.write_text(json.dumps(data))
    async with LocalExecutor(**FRESH) as executor:
        result = await executor.run_step(make_task(path), kit.Recorder())
    assert result.succeeded, result.message
    saved = json.loads(path.read_text())
    assert saved["metadata"]["kernelspec"] == {"name": "python3"}
    assert saved["cells"][0]["outputs"][0]["text"] == ["1\n"]


async def test_a_missing_notebook_fails_the_step(
    tmp_path: Path, make_task: MakeTask, kit: Kit
) -> None:
    async with LocalExecutor(**FRESH) as executor:
        result = await executor.run_step(make_task(tmp_path / "gone.ipynb"), kit.Recorder())
    assert not result.succeeded and "does not exist" in result.message


async def test_cancelling_interrupts_then_kills_the_kernel_and_keeps_the_outputs(
    tmp_path: Path, make_task: MakeTask, kit: Kit
) -> None:
    path = tmp_path / "slow.ipynb"
    kit.write_notebook(
        path,
        [
            "import os\nprint('one', os.getpid())",
            # Ignores the interrupt: only the kill after the grace period stops it.
            "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "print('sleeping', flush=True)\ntime.sleep(60)",
            "print('never')",
        ],
    )
    reporter = kit.Recorder()
    async with LocalExecutor(grace_period=0.5, **FRESH) as executor:
        step = asyncio.ensure_future(executor.run_step(make_task(path), reporter))
        await reporter.wait_for("sleeping")
        kernel = int(reporter.text("stdout").split()[1])
        assert kit.is_running(kernel)
        step.cancel()
        with pytest.raises(asyncio.CancelledError):
            await step
        # Gone when run_step returns, not some time later.
        assert not kit.is_running(kernel)
    cells = kit.read_notebook(path)["cells"]
    assert kit.stdout_of(cells[0]).startswith("one ")
    assert kit.stdout_of(cells[1]) == "sleeping\n"
    assert cells[2]["outputs"] == []


async def test_an_interrupted_cell_shows_its_keyboard_interrupt(
    tmp_path: Path, make_task: MakeTask, kit: Kit
) -> None:
    path = tmp_path / "interrupted.ipynb"
    kit.write_notebook(path, ["import time\nprint('sleeping', flush=True)\ntime.sleep(60)"])
    reporter = kit.Recorder()
    async with LocalExecutor(grace_period=10, **FRESH) as executor:
        step = asyncio.ensure_future(executor.run_step(make_task(path), reporter))
        await reporter.wait_for("sleeping")
        started = asyncio.get_running_loop().time()
        step.cancel()
        with pytest.raises(asyncio.CancelledError):
            await step
        assert asyncio.get_running_loop().time() - started < 5, "waited for the grace period"
    outputs = kit.read_notebook(path)["cells"][0]["outputs"]
    assert outputs[-1]["output_type"] == "error"
    assert outputs[-1]["ename"] == "KeyboardInterrupt"


@pytest.mark.parametrize(
    ("asked", "notebook_kernelspec"),
    [
        ("python", {"name": "orchest-kernel-6a1f", "display_name": "Py", "language": "python"}),
        (None, {"name": "orchest-kernel-6a1f", "display_name": "Py", "language": "python"}),
        ("python3", {"name": "ir", "display_name": "R", "language": "R"}),
    ],
)
async def test_orchest_kernel_names_run_in_the_local_python_kernel(
    tmp_path: Path,
    make_task: MakeTask,
    kit: Kit,
    asked: str | None,
    notebook_kernelspec: dict[str, str],
) -> None:
    path = tmp_path / "orchest.ipynb"
    kit.write_notebook(
        path, ["import sys; print(sys.version_info[0])"], {"kernelspec": notebook_kernelspec}
    )
    async with LocalExecutor(**FRESH) as executor:
        result = await executor.run_step(make_task(path, kernel_name=asked), kit.Recorder())
    assert result.succeeded, result.message
    notebook = kit.read_notebook(path)
    assert kit.stdout_of(notebook["cells"][0]) == "3\n"
    assert notebook["metadata"]["kernelspec"] == notebook_kernelspec


async def test_no_suitable_kernel_fails_naming_the_kernel_asked_for_and_the_installed_ones(
    tmp_path: Path, make_task: MakeTask, kit: Kit
) -> None:
    path = tmp_path / "julia.ipynb"
    kernelspec = {"name": "julia-1.9", "display_name": "Julia", "language": "julia"}
    kit.write_notebook(path, ["println(1)"], {"kernelspec": kernelspec})
    async with LocalExecutor(**FRESH) as executor:
        result = await executor.run_step(make_task(path), kit.Recorder())
    assert not result.succeeded
    assert "'julia-1.9'" in result.message and "python3" in result.message
