"""A command run in a fresh container, its output streamed as it comes, its exit code kept.

Used by builds (setup scripts) and by script steps. The output is attached before the
container starts, so nothing it prints is missed, and read by a thread of its own (a long
step must not hold one of asyncio's shared worker threads). A cancelled run is interrupted,
then killed after a grace period; the container is always removed at the end.
"""

import asyncio
import contextlib
import signal
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from docker import DockerClient
from docker.errors import APIError, NotFound
from docker.types import Mount

from ...engine.model import Stream

Output = Callable[[Stream, bytes], None]
"""Receives the command's output on the event loop's thread."""

KILL_WAIT = 10.0
"""Seconds a killed container gets to be reported gone before we stop waiting for it."""


@dataclass(frozen=True)
class ContainerSpec:
    """What `APIClient.create_container` needs, in the terms this backend uses."""

    image: str
    command: list[str]
    labels: dict[str, str]
    working_dir: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    mounts: list[Mount] = field(default_factory=list)
    host_config: dict[str, Any] = field(default_factory=dict)
    """Further arguments of `APIClient.create_host_config` (tmpfs, device requests, ...)."""
    stdin_open: bool = False

    def create(self, client: DockerClient) -> str:
        """Create (not start) the container; its id. Blocking."""
        host_config = client.api.create_host_config(mounts=self.mounts, **self.host_config)
        created = client.api.create_container(
            self.image,
            self.command,
            stdin_open=self.stdin_open,
            environment=self.environment,
            working_dir=self.working_dir,
            user=self.user,
            labels=self.labels,
            host_config=host_config,
        )
        return str(created["Id"])


class RunningContainer:
    """A started container whose output is being read."""

    def __init__(self, client: DockerClient, container_id: str) -> None:
        self.client = client
        self.id = container_id
        self.ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        """Done when its output ended: it has exited (or was removed)."""

    async def wait(self) -> int:
        """Its exit code, once it has exited."""
        await asyncio.shield(self.ended)
        status = await asyncio.to_thread(self.client.api.wait, self.id)
        return int(status["StatusCode"])

    async def stop(self, grace_period: float) -> None:
        """Interrupt, then terminate, then kill; return once it has exited."""
        for sig, wait in (
            (signal.SIGINT, grace_period / 2),
            (signal.SIGTERM, grace_period / 2),
            (signal.SIGKILL, KILL_WAIT),
        ):
            if wait == 0:
                continue
            await self.signal(sig)
            done, _ = await asyncio.wait([self.ended], timeout=wait)
            if done:
                return

    async def signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(NotFound, APIError):  # APIError: it is not running any more
            await asyncio.to_thread(self.client.api.kill, self.id, sig.name)


@contextlib.asynccontextmanager
async def running(
    client: DockerClient, spec: ContainerSpec, output: Output, grace_period: float = 0.0
) -> AsyncIterator[RunningContainer]:
    """Create and start a container, streaming its output to `output`. Leaving the block
    stops the container if it still runs (interrupting it first when `grace_period` > 0,
    and at once when the block was cancelled with no grace period) and removes it."""
    loop = asyncio.get_running_loop()
    container_id = await asyncio.to_thread(spec.create, client)
    try:
        stream = await asyncio.to_thread(
            client.api.attach, container_id, stdout=True, stderr=True, stream=True, demux=True
        )
        container = RunningContainer(client, container_id)
        threading.Thread(
            target=_pump, args=(stream, output, container.ended, loop), daemon=True
        ).start()
        await asyncio.to_thread(client.api.start, container_id)
        try:
            yield container
        finally:
            if not container.ended.done():
                await asyncio.shield(container.stop(grace_period))
    finally:
        await asyncio.shield(asyncio.to_thread(remove_containers, client, [container_id]))


def _pump(
    stream: Iterator[tuple[bytes | None, bytes | None]],
    output: Output,
    ended: "asyncio.Future[None]",
    loop: asyncio.AbstractEventLoop,
) -> None:
    """In its own thread: pass the demultiplexed output to the loop until it ends."""
    try:
        for stdout, stderr in stream:
            if stdout:
                _call(loop, output, "stdout", stdout)
            if stderr:
                _call(loop, output, "stderr", stderr)
    except Exception:  # the connection broke: the container was removed, or the engine left
        pass
    finally:
        _call(loop, _finish, ended)


def _finish(ended: "asyncio.Future[None]") -> None:
    if not ended.done():
        ended.set_result(None)


def _call(loop: asyncio.AbstractEventLoop, function: Callable[..., None], *args: Any) -> None:
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
        loop.call_soon_threadsafe(function, *args)


def remove_containers(client: DockerClient, ids: Iterable[str]) -> None:
    """Force-remove containers (killing those still running); none is an error if gone."""
    for container_id in ids:
        with contextlib.suppress(NotFound):
            client.api.remove_container(container_id, force=True)
