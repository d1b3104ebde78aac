"""Script steps through the local executor, as real processes."""

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_orchest.engine.executors import LocalExecutor
from jupyter_orchest.engine.model import StepTask

MakeTask = Callable[..., StepTask]
Kit = Any

NO_KERNELS: dict[str, Any] = {"pool_size": 0, "standby_kernels": 0}

# Each prints its working directory and a variable of the step, and then "done" to stderr.
SCRIPTS = {
    ".py": (
        "python",
        "import os, sys\nprint(os.getcwd())\nprint(os.environ['GREETING'])\n"
        "print('done', file=sys.stderr)\n",
    ),
    ".sh": ("bash", 'pwd\necho "$GREETING"\necho done >&2\n'),
    ".js": (
        "node",
        "console.log(process.cwd());\nconsole.log(process.env.GREETING);\nconsole.error('done');\n",
    ),
    ".R": (
        "Rscript",
        'cat(getwd(), "\\n", sep="")\ncat(Sys.getenv("GREETING"), "\\n", sep="")\n'
        'message("done")\n',
    ),
    ".jl": ("julia", 'println(pwd())\nprintln(ENV["GREETING"])\nprintln(stderr, "done")\n'),
}


@pytest.mark.parametrize("suffix", sorted(SCRIPTS))
async def test_a_script_runs_in_its_folder_with_the_steps_variables(
    tmp_path: Path, make_task: MakeTask, kit: Kit, suffix: str
) -> None:
    program, source = SCRIPTS[suffix]
    if program != "python" and shutil.which(program) is None:
        pytest.skip(f"{program} is not installed")
    folder = tmp_path / "a folder"
    folder.mkdir()
    path = folder / f"step{suffix}"
    path.write_text(source)
    reporter = kit.Recorder()
    async with LocalExecutor(**NO_KERNELS) as executor:
        result = await executor.run_step(make_task(path, env={"GREETING": "hi 'there'"}), reporter)
    assert result.succeeded, result.message
    assert reporter.text("stdout") == f"{folder}\nhi 'there'\n"
    assert reporter.text("stderr") == "done\n"


async def test_a_missing_interpreter_fails_the_step_saying_how_to_fix_it(
    tmp_path: Path, make_task: MakeTask, kit: Kit
) -> None:
    path = tmp_path / "model.R"
    path.write_text('print("hi")\n')
    task = make_task(path, env={"PATH": str(tmp_path)})  # nothing to run there
    async with LocalExecutor(**NO_KERNELS) as executor:
        result = await executor.run_step(task, kit.Recorder())
    assert not result.succeeded
    assert "'Rscript'" in result.message and "install R" in result.message


async def test_an_unknown_kind_of_file_fails_the_step(
    tmp_path: Path, make_task: MakeTask, kit: Kit
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    async with LocalExecutor(**NO_KERNELS) as executor:
        result = await executor.run_step(make_task(path), kit.Recorder())
    assert not result.succeeded and ".txt" in result.message


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("exit 3", "step.sh exited with code 3"),
        ("kill -KILL $$", "step.sh was killed by SIGKILL"),
        ("exit 0", ""),
    ],
)
async def test_the_exit_code_decides(
    tmp_path: Path, make_task: MakeTask, kit: Kit, source: str, message: str
) -> None:
    path = tmp_path / "step.sh"
    path.write_text(source + "\n")
    async with LocalExecutor(**NO_KERNELS) as executor:
        result = await executor.run_step(make_task(path), kit.Recorder())
    assert result.succeeded is (message == "")
    assert result.message == message


async def test_twenty_megabytes_of_output_arrive_whole_in_lines(
    tmp_path: Path, make_task: MakeTask
) -> None:
    path = tmp_path / "loud.py"
    path.write_text(
        "import sys\n"
        "line = 'x' * 99 + '\\n'\n"
        "for _ in range(100_000):\n"
        "    sys.stdout.write(line)\n"
        "sys.stdout.write('y' * 1_000_000)\n"  # a long line, and no line break at the end
        "sys.stderr.write('end\\n')\n"
    )

    class Counter:
        def __init__(self) -> None:
            self.size = 0
            self.largest = 0
            self.broken_lines = 0
            self.stderr = ""

        def log(self, stream: str, text: str) -> None:
            if stream == "stderr":
                self.stderr += text
                return
            self.size += len(text)
            self.largest = max(self.largest, len(text))
            if "x" in text and not text.endswith("\n"):
                self.broken_lines += 1

    counter = Counter()
    async with LocalExecutor(**NO_KERNELS) as executor:
        result = await executor.run_step(make_task(path), counter)
    assert result.succeeded, result.message
    assert counter.size == 100 * 100_000 + 1_000_000
    assert counter.broken_lines == 0
    assert counter.largest <= 1024 * 1024, "output was buffered whole"
    assert counter.stderr == "end\n"


async def test_output_arrives_while_the_script_runs(
    tmp_path: Path, make_task: MakeTask, kit: Kit
) -> None:
    path = tmp_path / "slow.py"
    path.write_text("import time\nprint('first')\ntime.sleep(1)\nprint('second')\n")
    reporter = kit.Recorder()
    async with LocalExecutor(**NO_KERNELS) as executor:
        result = await executor.run_step(make_task(path), reporter)
    assert result.succeeded
    (first, _, text1), (second, _, text2) = reporter.lines
    assert (text1, text2) == ("first\n", "second\n")
    assert second - first > 0.5


SPAWNS_A_CHILD = """\
sleep 60 &
echo $! > child.pid
echo $$ > script.pid
echo started
wait
"""


async def test_cancelling_stops_the_whole_process_group(
    tmp_path: Path, make_task: MakeTask, kit: Kit
) -> None:
    path = tmp_path / "spawner.sh"
    path.write_text(SPAWNS_A_CHILD)
    reporter = kit.Recorder()
    async with LocalExecutor(grace_period=1, **NO_KERNELS) as executor:
        step = asyncio.ensure_future(executor.run_step(make_task(path), reporter))
        await reporter.wait_for("started")
        pids = [int((tmp_path / name).read_text()) for name in ("script.pid", "child.pid")]
        assert all(kit.is_running(pid) for pid in pids)
        step.cancel()
        with pytest.raises(asyncio.CancelledError):
            await step
        assert not kit.is_running(pids[0])
        # Killed: the orphaned child may take a moment to finish dying.
        assert not await kit.wait_gone(pids[1:], timeout=2)


async def test_cancelling_kills_a_script_that_ignores_signals(
    tmp_path: Path, make_task: MakeTask, kit: Kit
) -> None:
    path = tmp_path / "stubborn.sh"
    path.write_text(
        "trap '' INT TERM\necho $$ > script.pid\necho started\nwhile true; do :; done\n"
    )
    reporter = kit.Recorder()
    async with LocalExecutor(grace_period=0.4, **NO_KERNELS) as executor:
        step = asyncio.ensure_future(executor.run_step(make_task(path), reporter))
        await reporter.wait_for("started")
        pid = int((tmp_path / "script.pid").read_text())
        step.cancel()
        with pytest.raises(asyncio.CancelledError):
            await step
        assert not kit.is_running(pid)


async def test_what_a_finished_script_leaves_running_is_stopped(
    tmp_path: Path, make_task: MakeTask, kit: Kit
) -> None:
    path = tmp_path / "leaves.sh"
    path.write_text("sleep 60 &\necho $! > child.pid\necho bye\n")
    reporter = kit.Recorder()
    async with LocalExecutor(**NO_KERNELS) as executor:
        result = await executor.run_step(make_task(path), reporter)
    assert result.succeeded and reporter.text("stdout") == "bye\n"
    assert not await kit.wait_gone([int((tmp_path / "child.pid").read_text())], timeout=2)
