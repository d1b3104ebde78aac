"""Kernels forked from a process that has imported ipykernel already (`_forkserver_main`).

A kernel started from scratch spends most of its start-up starting Python and importing
IPython and ipykernel; a forked one skips both. It is otherwise the kernel jupyter_client
would have started: same command-line arguments, environment, working directory, mount
namespace, process group of its own, and it exits when its parent (the fork server) does,
which exits when this process does.

Only kernelspecs that run `<python> -m ipykernel_launcher -f {connection_file}` with no
variables of their own can be forked. When packages change in the kernel's Python, the fork
server refuses to fork (its imports may be stale) and a new one is started.
"""

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import sys
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import zmq.asyncio
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.connect import write_connection_file
from jupyter_client.kernelspec import KernelSpec

from .kernels import Kernel, KernelKey, describe_exit

MAIN = Path(__file__).with_name("_forkserver_main.py")
PORT_NAMES = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")


class ForkUnavailable(Exception):
    """The fork server cannot make this kernel; start it the usual way."""


def fork_python(spec: KernelSpec) -> str | None:
    """The Python to fork kernels of this kernelspec from, or None if they cannot be forked."""
    argv = list(spec.argv)
    if (
        len(argv) < 3
        or argv[1:3] != ["-m", "ipykernel_launcher"]
        or "{connection_file}" not in argv
        or any("{" in arg for arg in argv if arg != "{connection_file}")
        or spec.env
        or spec.interrupt_mode != "signal"
        or spec.language.lower() != "python"
    ):
        return None
    # As jupyter_client does: a bare `python` is the Python running this process.
    major, minor = sys.version_info[:2]
    if argv[0] in ("python", f"python{major}", f"python{major}.{minor}"):
        return sys.executable
    return shutil.which(argv[0])


class ForkServer:
    """One fork server process, for one Python.

    Subclasses may start it some other way (e.g. inside a container) by overriding `command`;
    whatever runs must speak `_forkserver_main`'s protocol on its stdin and stdout, and report
    pids this process can signal."""

    ended = "its fork server exited"
    """How a kernel ended when its fork server went away, in words for the user."""

    def __init__(self, python: str, runtime_dir: Path) -> None:
        self.python = python
        self.runtime_dir = runtime_dir
        self.retired = False
        """Set when it refused to fork; it then only waits for its kernels to exit."""
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ids = itertools.count()
        self._answers: dict[int, asyncio.Future[_Answer]] = {}
        self._exits: dict[int, asyncio.Future[str]] = {}
        """The kernels forked and not reaped yet, by pid."""

    @property
    def usable(self) -> bool:
        return self._reader is not None and not self._reader.done() and not self.retired

    def command(self) -> list[str]:
        """The program that runs the fork server, and its arguments."""
        return [self.python, str(MAIN)]

    async def start(self, timeout: float) -> None:
        self._process = await asyncio.create_subprocess_exec(
            *self.command(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=self.runtime_dir,
            start_new_session=True,
        )
        assert self._process.stdout is not None
        try:
            hello = await asyncio.wait_for(self._process.stdout.readline(), timeout)
            if not json.loads(hello or b"{}").get("ready"):
                raise ForkUnavailable("the fork server did not start")
        except BaseException:
            await asyncio.shield(self.close())
            raise
        self._reader = asyncio.create_task(self._read(self._process.stdout))

    async def launch(
        self,
        key: KernelKey,
        spec: KernelSpec,
        cwd: Path,
        env: Mapping[str, str],
        timeout: float,
        shutdown_wait: float,
        context: zmq.asyncio.Context,
        sockets: Path,
    ) -> "ForkedKernel":
        """Fork a kernel and wait until it is ready; nothing is left behind if this raises.
        `sockets`: as for `kernels.start_managed_kernel`."""
        if not self.usable or self._process is None or self._process.stdin is None:
            raise ForkUnavailable("the fork server is not running")
        connection_file = Path(f"{sockets}.json")
        _, info = write_connection_file(
            str(connection_file),
            ip=str(sockets),
            transport="ipc",
            key=uuid.uuid4().hex.encode(),
            kernel_name=key.name,
        )
        argv = [str(connection_file) if arg == "{connection_file}" else arg for arg in spec.argv]
        # What jupyter_client gives a kernel it starts: see LocalProvisioner and launch_kernel.
        kernel_env = {**env, "JPY_PARENT_PID": str(os.getpid())}
        kernel_env.pop("PYTHONEXECUTABLE", None)
        request_id = next(self._ids)
        answer = asyncio.get_running_loop().create_future()
        self._answers[request_id] = answer
        request = {
            "id": request_id,
            "cwd": str(cwd),
            "env": kernel_env,
            "argv": argv[3:],
            "namespace": asdict(key.namespace) if key.namespace else None,
        }
        self._process.stdin.write(json.dumps(request).encode() + b"\n")

        def release() -> None:
            connection_file.unlink(missing_ok=True)
            for name in PORT_NAMES:  # the kernel removes them, unless it was killed
                Path(f"{sockets}-{info[name]}").unlink(missing_ok=True)  # type: ignore[literal-required]

        try:
            reply = await asyncio.wait_for(asyncio.shield(answer), timeout)
        except BaseException:
            answer.add_done_callback(self._kill_forked)
            release()
            raise
        if reply.pid is None or reply.exited is None:
            self.retired = True
            self._stop_if_idle()
            release()
            raise ForkUnavailable(f"packages changed in {reply.stale}")
        client = AsyncKernelClient(context=context)
        client.load_connection_info(info)
        kernel = ForkedKernel(key, client, reply.pid, reply.exited, shutdown_wait, release)
        try:
            client.start_channels(stdin=False, hb=False)  # no input(); deaths are seen by pid
            await kernel.wait_until_ready(timeout)
        except BaseException:
            await asyncio.shield(kernel.kill())
            raise
        return kernel

    async def close(self) -> None:
        """Stop the fork server (its kernels should be stopped first: they exit with it)."""
        process = self._process
        if process is None:
            return
        # Forks under way finish first (their kernels are killed by _kill_forked), and no
        # kernel is left to die alone when its parent exits.
        if self._answers:
            await asyncio.wait(list(self._answers.values()), timeout=5)
        for pid in self._exits:
            _kill_group(pid)
        if self._exits:
            await asyncio.wait(list(self._exits.values()), timeout=5)
        if process.stdin is not None:
            process.stdin.close()  # it exits when it reads the end of its input
        try:
            await asyncio.wait_for(process.wait(), 5)
        except asyncio.TimeoutError:
            # Only now: Popen.kill reaps an exited process behind asyncio's back.
            process.kill()
            await process.wait()
        if self._reader is not None:
            await self._reader

    def _stop_if_idle(self) -> None:
        """A retired server ends once its kernels are gone (and `close` finds it ended)."""
        process = self._process
        if self.retired and not self._exits and not self._answers and process and process.stdin:
            process.stdin.close()

    async def _read(self, stdout: asyncio.StreamReader) -> None:
        while line := await stdout.readline():
            message = json.loads(line)
            if "exited" in message:
                exited = self._exits.pop(int(message["exited"]), None)
                if exited is not None and not exited.done():
                    exited.set_result(describe_exit(int(message["status"])))
                self._stop_if_idle()
            elif "id" in message:
                reply = _Answer(stale=str(message.get("stale", "")))
                if "pid" in message:
                    reply.pid = int(message["pid"])
                    reply.exited = asyncio.get_running_loop().create_future()
                    self._exits[reply.pid] = reply.exited
                answer = self._answers.pop(int(message["id"]), None)
                if answer is not None and not answer.done():
                    answer.set_result(reply)
        # The fork server is gone, and with it (within a second) its kernels: make sure.
        for answer in self._answers.values():
            if not answer.done():
                answer.set_exception(ForkUnavailable("the fork server exited"))
        for pid, exited in self._exits.items():
            _kill_group(pid)
            if not exited.done():
                exited.set_result(self.ended)
        self._answers.clear()
        self._exits.clear()

    def _kill_forked(self, answer: "asyncio.Future[_Answer]") -> None:
        """For a fork whose caller gave up: kill the kernel once its pid is known."""
        if not answer.cancelled() and answer.exception() is None:
            pid = answer.result().pid
            if pid is not None:
                _kill_group(pid)


@dataclass
class _Answer:
    """The fork server's answer to a request: a kernel's pid, or why it did not fork."""

    stale: str = ""
    pid: int | None = None
    exited: "asyncio.Future[str] | None" = None


class ForkedKernel(Kernel):
    def __init__(
        self,
        key: KernelKey,
        client: AsyncKernelClient,
        pid: int,
        exited: "asyncio.Future[str]",
        shutdown_wait: float,
        release: Callable[[], None],
    ) -> None:
        super().__init__(key, client, pid)
        self._exited = exited
        self._shutdown_wait = shutdown_wait
        self._release: Callable[[], None] | None = release

    @property
    def exited(self) -> "asyncio.Future[str]":
        return self._exited

    async def interrupt(self) -> None:
        if not self._exited.done():
            _signal_group(self.pid, signal.SIGINT)

    async def kill(self) -> None:
        if not self._exited.done():
            _kill_group(self.pid)
        await self._finish()

    async def shutdown(self) -> None:
        if not self._exited.done():
            self.client.shutdown()
            done, _ = await asyncio.wait([self._exited], timeout=self._shutdown_wait)
            if not done:
                _kill_group(self.pid)
        await self._finish()

    async def _finish(self) -> None:
        await asyncio.shield(self._exited)
        self.client.stop_channels()
        if self._release is not None:
            self._release()
            self._release = None


def _signal_group(group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, sig)


def _kill_group(group: int) -> None:
    _signal_group(group, signal.SIGKILL)
