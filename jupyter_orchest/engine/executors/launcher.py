"""Step processes started in their mount namespaces by a small helper process of their
executor (`_launcher_main`), so that the server itself is never forked for them.

A process started here is what asyncio would have started: the same program, arguments,
working directory, environment, a session of its own, its output on pipes read by the event
loop. Its exit is reported by the launcher, which reaps it.
"""

import asyncio
import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .orchest_mounts import OrchestMounts

MAIN = Path(__file__).with_name("_launcher_main.py")


class LauncherUnavailable(OSError):
    """The launcher is not running, or exited; the message says why."""


@dataclass
class Launched:
    """A process the launcher started."""

    pid: int
    exited: "asyncio.Future[int]"
    """Its exit code once it has exited (negative: the signal that killed it)."""


class Launcher:
    """One launcher process and the processes it started. `start` before use, `close` after."""

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self._requests: socket.socket | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ids = itertools.count()
        self._answers: dict[int, asyncio.Future[int]] = {}
        self._exits: dict[int, asyncio.Future[int]] = {}

    @property
    def usable(self) -> bool:
        return self._reader is not None and not self._reader.done()

    async def start(self, timeout: float) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                *("-E", "-s", "-S"),  # as -I, but this folder on its path
                str(MAIN),
                str(theirs.fileno()),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                pass_fds=[theirs.fileno()],
                start_new_session=True,
            )
        self._requests = ours
        assert self._process.stdout is not None
        try:
            hello = await asyncio.wait_for(self._process.stdout.readline(), timeout)
            if not json.loads(hello or b"{}").get("ready"):
                raise LauncherUnavailable("the launcher did not start")
        except BaseException:
            await asyncio.shield(self.close())
            raise
        self._reader = asyncio.create_task(self._read(self._process.stdout))

    async def spawn(
        self,
        argv: Sequence[str],
        cwd: Path,
        env: Mapping[str, str],
        mounts: OrchestMounts,
        stdio: tuple[int, int, int],
    ) -> Launched:
        """Start `argv` (its program an absolute path) with these stdin, stdout and stderr
        (file descriptors, which the caller still closes)."""
        if not self.usable or self._requests is None:
            raise LauncherUnavailable("the launcher is not running")
        request_id = next(self._ids)
        request = {
            "id": request_id,
            "argv": list(argv),
            "cwd": str(cwd),
            "env": dict(env),
            "data_dir": mounts.data_dir,
            "project_dir": mounts.project_dir,
        }
        answer = asyncio.get_running_loop().create_future()
        self._answers[request_id] = answer
        try:
            socket.send_fds(self._requests, [json.dumps(request).encode()], list(stdio))
        except OSError:
            del self._answers[request_id]
            raise
        try:
            pid = await asyncio.shield(answer)
        except asyncio.CancelledError:
            answer.add_done_callback(_kill_started)  # once its pid is known
            raise
        return Launched(pid, self._exits[pid])

    async def close(self) -> None:
        """Stop the launcher (the processes it started should be stopped first)."""
        if self._requests is not None:
            self._requests.close()  # it exits when its socket closes
            self._requests = None
        if self._process is not None:
            try:
                await asyncio.wait_for(self._process.wait(), 5)
            except asyncio.TimeoutError:
                self._process.kill()
                await self._process.wait()
        if self._reader is not None:
            await self._reader

    async def _read(self, stdout: asyncio.StreamReader) -> None:
        loop = asyncio.get_running_loop()
        while line := await stdout.readline():
            message = json.loads(line)
            if "exited" in message:
                exited = self._exits.pop(int(message["exited"]), None)
                if exited is not None and not exited.done():
                    exited.set_result(int(message["status"]))
            elif "pid" in message:
                pid = int(message["pid"])
                self._exits[pid] = loop.create_future()
                answer = self._answers.pop(int(message["id"]), None)
                if answer is not None and not answer.done():
                    answer.set_result(pid)
        # The launcher is gone: what it started can no longer be followed, so it is stopped.
        for answer in self._answers.values():
            if not answer.done():
                answer.set_exception(LauncherUnavailable("the launcher exited"))
        self._answers.clear()
        for pid, exited in self._exits.items():
            _kill_group(pid)
            if not exited.done():
                exited.set_result(-signal.SIGKILL)
        self._exits.clear()


def _kill_started(answer: "asyncio.Future[int]") -> None:
    """For a start whose caller gave up: kill the process once its pid is known."""
    if not answer.cancelled() and answer.exception() is None:
        _kill_group(answer.result())


def _kill_group(group: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)
