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
import functools
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..model import StepReporter, StepResult, StepTask, Stream
from .kernels import describe_exit
from .launcher import Launcher
from .orchest_mounts import OrchestMounts


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
"""Characters of a line without a line break that are sent to the reporter in one piece."""

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
    namespace: OrchestMounts | None = None,
    launcher: Launcher | None = None,
) -> StepResult:
    """Run the script; `running` holds its process group's id while it runs. With
    `namespace`, it sees those folders at /data and /project-dir: started by `launcher`, or
    else by a command that enters the namespace first (a Python start more)."""
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
    argv = [os.path.abspath(program), *interpreter.command[1:], str(task.file)]
    try:
        if namespace is not None and launcher is not None:
            process = await _launch(launcher, namespace, argv, task.working_dir, env, reporter)
        else:
            command = [*namespace.command(), *argv] if namespace is not None else argv
            process = await _start(command, task.working_dir, env, reporter)
    except OSError as error:
        return StepResult(False, f"cannot start {task.file.name}: {error}")
    group, script = process.pid, process.script
    running.add(group)
    try:
        await asyncio.shield(script.exited)
        await _end_leftovers(group, script)
    except asyncio.CancelledError:
        await asyncio.shield(_stop(group, script, grace_period))
        raise
    finally:
        running.discard(group)
        process.close()
    code = process.returncode()
    assert code is not None, "the script has exited"
    if code == 0:
        return StepResult(True)
    if code > 0:
        return StepResult(False, f"{task.file.name} exited with code {code}")
    return StepResult(False, f"{task.file.name} was {describe_exit(code)}")


@dataclass(frozen=True)
class _Started:
    """A script's process, however it was started: its pid (and process group), its
    protocol, and what the started process gives."""

    pid: int
    script: "_Script"
    returncode: Callable[[], int | None]
    close: Callable[[], None]


async def _start(
    argv: list[str], cwd: Path, env: Mapping[str, str], reporter: StepReporter
) -> _Started:
    transport, script = await asyncio.get_running_loop().subprocess_exec(
        lambda: _Script(reporter),
        *argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, to signal all of it at once
    )
    return _Started(transport.get_pid(), script, transport.get_returncode, transport.close)


async def _launch(
    launcher: Launcher,
    mounts: OrchestMounts,
    argv: list[str],
    cwd: Path,
    env: Mapping[str, str],
    reporter: StepReporter,
) -> _Started:
    """As `_start`, through the launcher: the script's output comes on pipes made here, its
    exit from the launcher."""
    script = _Script(reporter)
    stdout, stderr = os.pipe(), os.pipe()
    try:
        with open(os.devnull, "rb") as devnull:
            launched = await launcher.spawn(
                argv, cwd, env, mounts, (devnull.fileno(), stdout[1], stderr[1])
            )
    except BaseException:
        os.close(stdout[0])
        os.close(stderr[0])
        raise
    finally:
        os.close(stdout[1])
        os.close(stderr[1])
    ends = _Ends(script, launched.exited)
    loop = asyncio.get_running_loop()
    transports = []
    for fd, read in ((1, stdout[0]), (2, stderr[0])):
        pipe = os.fdopen(read, "rb", buffering=0)  # closed with its transport
        transport, _ = await loop.connect_read_pipe(functools.partial(_Pipe, ends, fd), pipe)
        transports.append(transport)

    def returncode() -> int | None:
        return launched.exited.result() if launched.exited.done() else None

    def close() -> None:
        for transport in transports:
            transport.close()

    return _Started(launched.pid, script, returncode, close)


class _Ends:
    """Tells the script's protocol, as a subprocess transport would, when its process has
    exited, and when its pipes are closed too."""

    def __init__(self, script: "_Script", exited: "asyncio.Future[int]") -> None:
        self.script = script
        self.open_pipes = 2
        self.exited = exited
        exited.add_done_callback(lambda _: self._process_exited())

    def pipe_closed(self, fd: int, exc: Exception | None) -> None:
        self.script.pipe_connection_lost(fd, exc)
        self.open_pipes -= 1
        self._maybe_done()

    def _process_exited(self) -> None:
        self.script.process_exited()
        self._maybe_done()

    def _maybe_done(self) -> None:
        if not self.open_pipes and self.exited.done():
            self.script.connection_lost(None)


class _Pipe(asyncio.Protocol):
    """One of the script's output pipes, read by the event loop."""

    def __init__(self, ends: _Ends, fd: int) -> None:
        self.ends, self.fd = ends, fd

    def data_received(self, data: bytes) -> None:
        self.ends.script.pipe_data_received(self.fd, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.ends.pipe_closed(self.fd, exc)


class OutputLines:
    """Sends what a process prints to the reporter as it comes: whole lines when it can, a
    line longer than READ_SIZE in pieces, an unfinished last line at the end. Nothing else
    is kept, so memory stays bounded however much the process prints."""

    def __init__(self, reporter: StepReporter) -> None:
        self.reporter = reporter
        self.decoders = {
            stream: codecs.getincrementaldecoder("utf-8")(errors="replace")
            for stream in ("stdout", "stderr")
        }
        self.pending: dict[Stream, str] = {"stdout": "", "stderr": ""}

    def feed(self, stream: Stream, data: bytes) -> None:
        pending = self.pending[stream] + self.decoders[stream].decode(data)
        end = pending.rfind("\n") + 1
        if end == 0 and len(pending) >= READ_SIZE:
            end = len(pending)
        if end:
            self.reporter.log(stream, pending[:end])
        self.pending[stream] = pending[end:]

    def close(self, stream: Stream) -> None:
        """The stream ended: send what is left of it."""
        rest = self.pending[stream] + self.decoders[stream].decode(b"", final=True)
        self.pending[stream] = ""
        if rest:
            self.reporter.log(stream, rest)


class _Script(asyncio.SubprocessProtocol):
    """Follows the script's process and sends its output through `OutputLines`."""

    def __init__(self, reporter: StepReporter) -> None:
        loop = asyncio.get_running_loop()
        self.output = OutputLines(reporter)
        self.exited: asyncio.Future[None] = loop.create_future()
        """Done when the script's process has exited (even if its children hold the pipes)."""
        self.closed: asyncio.Future[None] = loop.create_future()
        """Done when the pipes are closed and the process has exited."""

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self.output.feed(_stream(fd), data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self.output.close(_stream(fd))

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


def _stream(fd: int) -> Stream:
    return "stderr" if fd == 2 else "stdout"


async def _end_leftovers(group: int, script: _Script) -> None:
    """After the script's own process exited: stop whatever it left running in its group
    (which may hold the pipes open), and let the pipes drain."""
    if _signal_group(group, signal.SIGTERM):
        done, _ = await asyncio.wait([script.closed], timeout=LEFTOVER_GRACE)
        if not done:
            _signal_group(group, signal.SIGKILL)
    await asyncio.shield(script.closed)


async def _stop(group: int, script: _Script, grace_period: float) -> None:
    """Interrupt the script's group, then terminate it, then kill it; return once the script
    and its group are gone."""
    for sig, wait in (
        (signal.SIGINT, grace_period / 2),
        (signal.SIGTERM, grace_period / 2),
        (signal.SIGKILL, None),
    ):
        _signal_group(group, sig)
        done, _ = await asyncio.wait([script.exited], timeout=wait)
        if done:
            break
    # The script is gone; what it left in its group goes with it.
    _signal_group(group, signal.SIGKILL)
    await asyncio.wait([script.closed], timeout=LEFTOVER_GRACE)


def _signal_group(group: int, sig: signal.Signals) -> bool:
    """Send a signal to a process group; False if the group has no process left."""
    try:
        os.killpg(group, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member changed its user; nothing more we can do
        return False
    return True
