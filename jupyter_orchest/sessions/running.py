"""What every kind of running service shares: its status, the session hearing of each change,
waiting for it to answer on its ports, and reporting a failure with its last output."""

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from .definitions import BadService, ServiceDefinition
from .model import ServiceState, ServiceStatus

ANSWER_TIMEOUT = 30.0
"""Seconds a service gets to answer on its ports before its steps may run anyway."""
PROBE_INTERVAL = 0.2
TAIL_LINES = 10
"""Lines of a failed service's output quoted in its message."""


class RunningService(Protocol):
    report: "ServiceReport"
    internal_hostname: str
    """Where steps reach it."""

    async def start(self) -> None:
        """Start it, and return once it answers on its ports (or failed, or took too long):
        its status says which."""

    async def stop(self) -> None:
        """Stop whatever it started; return once it is gone."""


class ServiceReport:
    """A service's status, changed only through here so that the session hears of it; once
    the service is being stopped, its own end is not a failure. `mask` keeps secrets out of
    its messages."""

    def __init__(
        self,
        status: ServiceStatus,
        changed: Callable[[], None],
        mask: Callable[[str], str] = str,
    ) -> None:
        self.status = status
        self.changed = changed
        self.mask = mask
        self.stopping = False
        self.urls: dict[int, str] = {}
        """Where a browser reaches it, by the port it listens on."""

    def waiting(self, message: str) -> None:
        """Still starting, for the reason `message` gives."""
        if self.status.state == ServiceState.STARTING and not self.stopping:
            self._set(ServiceState.STARTING, message, [])

    def running(self, urls: dict[int, str], message: str = "") -> None:
        if self.status.state == ServiceState.STARTING and not self.stopping:
            self.urls = urls
            self._set(ServiceState.RUNNING, message, list(urls.values()))

    def failed(self, message: str) -> None:
        if not self.stopping:
            self.urls = {}
            self._set(ServiceState.FAILED, message, [])

    def stopped(self) -> None:
        self.urls = {}
        if self.status.state != ServiceState.FAILED:
            self._set(ServiceState.STOPPED, "", [])

    def _set(self, state: ServiceState, message: str, urls: list[str]) -> None:
        self.status.state, self.status.message = state, self.mask(message)
        self.status.urls = urls
        self.changed()


def status_of(service: ServiceDefinition | BadService) -> ServiceStatus:
    return ServiceStatus(
        name=service.name,
        image=service.image,
        command=service.command_line,
        scope=list(service.scope),
    )


async def wait_until_answering(
    host: str, ports: Iterable[int], ended: asyncio.Event, timeout: float = ANSWER_TIMEOUT
) -> int | None:
    """Wait until something accepts connections at each port of `host`; None once it does,
    else the first port that did not answer in time (or before `ended` was set)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    for port in ports:
        while not await answers(host, port):
            if ended.is_set() or loop.time() >= deadline:
                return port
            await asyncio.sleep(PROBE_INTERVAL)
    return None


async def answers(host: str, port: int) -> bool:
    """Whether something accepts connections at the port of `host`."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2.0)
    except (OSError, asyncio.TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def not_answering(port: int) -> str:
    return (
        f"It does not answer on port {port} yet (waited {ANSWER_TIMEOUT:.0f} s): steps may "
        "fail to reach it until it does."
    )


def with_output(message: str, output: str) -> str:
    """The message, and the last lines of what the service printed."""
    lines = output.strip().splitlines()[-TAIL_LINES:]
    if not lines:
        return f"{message} It printed nothing."
    return f"{message} Its last output:\n" + "\n".join(lines)


def file_tail(path: Path, size: int = 8192) -> str:
    """The end of a log file, as text."""
    try:
        with open(path, "rb") as file:
            file.seek(0, 2)
            file.seek(max(0, file.tell() - size))
            return file.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
