"""Scripts: a step's file run by its language's interpreter, in a process group of its own.

The interpreter gets an argument list (never a shell command line), the file's folder as
working directory and `os.environ` plus the task's variables as environment. What the script
prints reaches the reporter as it comes, in whole lines when it can, and memory stays bounded
however much it prints. The exit code decides success.

A step's processes end with the step: when the script exits, anything it left running in its
process group is terminated, and a cancelled step's group is interrupted, then terminated,
then killed.
"""

import asyncio
import codecs
import os
import shutil
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..model import StepReporter, StepResult, StepTask, Stream
from .kernels import describe_exit


@dataclass(frozen=True)
class Interpreter:
    """How to run one kind of script: the command before the file's name, and a hint for
    users whose machine lacks the program."""

    command: Sequence[str]
    install_hint: str


INTERPRETERS: Mapping[str, Interpreter] = {
    # -u: unbuffered, so that output arrives as it is printed and not in 8 KiB blocks.
    ".py": Interpreter((sys.executable, "-u"), "install Python 3"),
    ".sh": Interpreter(("bash",), "install bash (e.g. `apt-get install bash`)"),
    ".r": Interpreter(
        ("Rscript",), "install R (e.g. `apt-get install r-base-core`, or from cran.r-project.org)"
    ),
    ".jl": Interpreter(("julia",), "install Julia from julialang.org/downloads"),
    ".js": Interpreter(("node",), "install Node.js (e.g. `apt-get install nodejs`)"),
}
"""Interpreters by file extension, lower case."""

READ_SIZE = 64 * 1024
"""Bytes read from a pipe at a time; also the longest text sent to the reporter without a
line break in it."""

LEFTOVER_GRACE = 1.0
"""Seconds that processes a finished script left behind get between SIGTERM and SIGKILL."""


def interpreter_for(file: Path, interpreters: Mapping[str, Interpreter]) -> Interpreter | None:
    return interpreters.get(file.suffix.lower())


async def run_script(
    task: StepTask,
    reporter: StepReporter,
    interpreter: Interpreter,
    grace_period: float,
    running: set[int],
) -> StepResult:
    """Run the script; `running` holds its process group's id while it runs."""
    env = {**os.environ, **task.env}
    program = shutil.which(interpreter.command[0], path=env.get("PATH", os.defpath))
    if program is None:
        return StepResult(
            False,
            f"cannot run {task.file.name}: its interpreter {interpreter.command[0]!r} is not "
            f"installed or not on the PATH; {interpreter.install_hint}, "
            "then run the step again",
        )
    if not task.file.is_file():
        return StepResult(False, f"the step's file {task.file} does not exist")
    try:
        process = await asyncio.create_subprocess_exec(
            program,
            *interpreter.command[1:],
            str(task.file),
            cwd=task.working_dir,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group, to signal all of it at once
        )
    except OSError as error:
        return StepResult(False, f"cannot start {task.file.name}: {error}")
    assert process.stdout is not None and process.stderr is not None
    running.add(process.pid)
    pumps = asyncio.gather(
        _pump(process.stdout, "stdout", reporter), _pump(process.stderr, "stderr", reporter)
    )
    try:
        code = await process.wait()
        await _end_leftovers(process.pid, pumps)
    except asyncio.CancelledError:
        await asyncio.shield(_stop(process, pumps, grace_period))
        raise
    finally:
        running.discard(process.pid)
        if not pumps.done():
            pumps.cancel()
    if code == 0:
        return StepResult(True)
    if code > 0:
        return StepResult(False, f"{task.file.name} exited with code {code}")
    return StepResult(False, f"{task.file.name} was {describe_exit(code)}")


async def _pump(stream: asyncio.StreamReader, name: Stream, reporter: StepReporter) -> None:
    """Send what a pipe carries to the reporter: every complete line as soon as it is read,
    a line longer than READ_SIZE in pieces, and the rest at the end."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    while True:
        data = await stream.read(READ_SIZE)
        text = decoder.decode(data, final=not data)
        pending += text
        if not data:
            break
        end = pending.rfind("\n") + 1
        if end == 0 and len(pending) >= READ_SIZE:
            end = len(pending)
        if end:
            reporter.log(name, pending[:end])
            pending = pending[end:]
    if pending:
        reporter.log(name, pending)


async def _end_leftovers(group: int, pumps: "asyncio.Future[Any]") -> None:
    """After the script's own process exited: let the pipes drain, and stop whatever it left
    running in its group (which may hold the pipes open)."""
    if _signal_group(group, signal.SIGTERM):
        done, _ = await asyncio.wait([pumps], timeout=LEFTOVER_GRACE)
        if not done:
            _signal_group(group, signal.SIGKILL)
    await pumps


async def _stop(
    process: asyncio.subprocess.Process, pumps: "asyncio.Future[Any]", grace_period: float
) -> None:
    """Interrupt the script's group, then terminate it, then kill it; return once the script
    and its group are gone."""
    for sig, wait in (
        (signal.SIGINT, grace_period / 2),
        (signal.SIGTERM, grace_period / 2),
        (signal.SIGKILL, None),
    ):
        _signal_group(process.pid, sig)
        if process.returncode is None:
            try:
                await asyncio.wait_for(process.wait(), wait)
            except asyncio.TimeoutError:
                continue
        if sig != signal.SIGKILL:
            # The script is gone; what it left in its group goes with it.
            _signal_group(process.pid, signal.SIGKILL)
        break
    await asyncio.wait([pumps], timeout=LEFTOVER_GRACE)


def _signal_group(group: int, sig: signal.Signals) -> bool:
    """Send a signal to a process group; False if the group has no process left."""
    try:
        os.killpg(group, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member changed its user; nothing more we can do
        return False
    return True
