"""Services as processes on this machine: the local backend's (and `none`'s) way to run a
service that has a command. A service with only an image needs Docker.

The process runs the service's command as an argument list (never through a shell), in the
project folder, in a process group of its own (stopping it stops whatever it started), with
a few variables of the server's environment (PATH, HOME, locale) and those its group gives it
(see `service_group`). What it prints goes to a log file of its session's (an interactive
session's: `.orchest/sessions/<pipeline uuid>/services/<name>.log` in the project; a run's:
`services/<name>.log` in the run's folder). Steps reach it on localhost, at the ports it
listens on; a port that something else answers on already fails it, so that steps never talk
to a stranger.
"""

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path

from .definitions import ServiceDefinition
from .running import (
    ServiceReport,
    answers,
    file_tail,
    not_answering,
    wait_until_answering,
    with_output,
)

HOST = "localhost"
PASSED_VARIABLES = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")
"""What a service process gets of the server's environment, besides what it asks for: enough
to find its commands and read text, not the server's credentials."""
KILL_WAIT = 5.0


def services_log_dir(project_dir: Path, pipeline_uuid: str) -> Path:
    return project_dir / ".orchest" / "sessions" / pipeline_uuid / "services"


class ProcessService:
    """One service running as a process group (see the module's docs)."""

    def __init__(
        self,
        service: ServiceDefinition,
        *,
        project_dir: Path,
        log_dir: Path,
        environment: Mapping[str, str],
        report: ServiceReport,
        grace_period: float,
    ) -> None:
        self.service = service
        self.project_dir = project_dir
        self.environment = dict(environment)
        self.log_path = log_dir / f"{service.name}.log"
        self.report = report
        self.internal_hostname = HOST
        self.grace_period = grace_period
        self._spawning: asyncio.Future[asyncio.subprocess.Process] | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._ended = asyncio.Event()
        self._watching: asyncio.Task[None] | None = None

    async def start(self) -> None:
        argv = self.service.argv
        if not argv:
            self.report.failed(
                f"The service {self.service.name!r} has only an image ({self.service.image}): "
                "without Docker, services run as processes and need a `command`. Use the "
                "Docker environment backend, or give the service a command."
            )
            return
        for port in self.service.ports:
            if await answers(HOST, port):
                self.report.failed(
                    f"Port {port} of the service {self.service.name!r} is in use by another "
                    "program on this machine: stop it, or give the service another port."
                )
                return
        # Shielded: a start cancelled while the process is being made must not lose it.
        self._spawning = asyncio.ensure_future(self._spawn(argv))
        try:
            self._process = await asyncio.shield(self._spawning)
        except OSError as error:
            self.report.failed(
                f"The service {self.service.name!r} could not start {argv[0]!r}: "
                f"{error.strerror or error}."
            )
            return
        self._watching = asyncio.ensure_future(self._watch(self._process))
        silent = await wait_until_answering(HOST, self.service.ports, self._ended)
        if not self._ended.is_set():
            urls = {port: f"http://{HOST}:{port}/" for port in self.service.ports}
            self.report.running(urls, not_answering(silent) if silent is not None else "")

    async def stop(self) -> None:
        self.report.stopping = True
        if self._spawning is not None and self._process is None:
            await asyncio.wait([self._spawning])
            if self._spawning.exception() is None:
                self._process = self._spawning.result()
                self._watching = asyncio.ensure_future(self._watch(self._process))
        process = self._process
        if process is not None:
            if process.returncode is None:
                _signal_group(process.pid, signal.SIGTERM)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self._ended.wait()), self.grace_period)
            # What the service started may outlive it: the whole group goes.
            _signal_group(process.pid, signal.SIGKILL)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._ended.wait()), KILL_WAIT)
        if self._watching is not None:
            await asyncio.gather(self._watching, return_exceptions=True)
        self.report.stopped()

    async def _spawn(self, argv: list[str]) -> asyncio.subprocess.Process:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        environment = {name: os.environ[name] for name in PASSED_VARIABLES if name in os.environ}
        environment.update(self.environment)
        with open(self.log_path, "wb") as log:  # the child keeps its own copy of the file
            return await asyncio.create_subprocess_exec(
                *argv,
                cwd=self.project_dir,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def _watch(self, process: asyncio.subprocess.Process) -> None:
        code = await process.wait()
        self._ended.set()
        output = await asyncio.to_thread(file_tail, self.log_path)
        self.report.failed(with_output(_exit_message(self.service.name, code), output))


def _exit_message(name: str, code: int) -> str:
    if code < 0:
        return f"The service {name!r} was killed by signal {-code}."
    return f"The service {name!r} exited with code {code}."


def _signal_group(group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, sig)
