"""The container that notebook steps' kernels are forked in: one per build and set of mounted
folders, for as long as its executor lives.

It runs the engine's fork server (`_forkserver_main.py`, mounted read-only) with the host's
process ids (`--pid=host`), so the pids it reports are ones the executor can signal and wait
for, exactly as for local kernels. The executor's runtime folder is mounted at the same path:
kernels listen on Unix sockets there, which the host reaches with no network set up, and read
their step's assignment from there. Every step still gets a freshly forked kernel.
"""

import asyncio
import sys
from collections.abc import Mapping
from pathlib import Path

from docker import DockerClient

from ...engine.executors.forkserver import MAIN as FORK_SERVER_MAIN
from ...engine.executors.forkserver import ForkServer, ForkUnavailable
from . import layout
from .containers import ContainerSpec, remove_containers
from .engine import EngineError
from .settings import StepContainers, mounts_for, read_only, server_user, writable

ATTACH = Path(__file__).with_name("_attach_main.py")
FAILURE_LINES = 10


def kernels_container(
    *,
    image_id: str,
    project: layout.ProjectMounts,
    runtime_dir: Path,
    step_containers: StepContainers,
    environment: Mapping[str, str],
    labels: dict[str, str],
) -> ContainerSpec:
    host_config = {**step_containers.host_config(), "pid_mode": "host"}
    return ContainerSpec(
        image=image_id,
        command=["python3", str(layout.FORK_SERVER)],
        labels=labels,
        working_dir=str(runtime_dir),
        environment=dict(environment),
        user=server_user(),
        mounts=[
            *mounts_for(project),
            writable(runtime_dir, runtime_dir),
            read_only(FORK_SERVER_MAIN, layout.FORK_SERVER),
            *step_containers.mounts(),
        ],
        host_config=host_config,
        stdin_open=True,
    )


class ContainerForkServer(ForkServer):
    """A fork server in a container of its own, created here and removed when it closes."""

    ended = "its container stopped"

    def __init__(self, client: DockerClient, spec: ContainerSpec, runtime_dir: Path) -> None:
        super().__init__("python3", runtime_dir)
        self.client = client
        self.spec = spec
        self.container_id: str | None = None
        self._started = False
        self._failure = ""
        """What the container said when the fork server did not start in it."""

    def command(self) -> list[str]:
        assert self.container_id is not None, "created in start()"
        return [sys.executable, str(ATTACH), self.container_id]

    async def start(self, timeout: float) -> None:
        self.container_id = await asyncio.to_thread(self.spec.create, self.client)
        try:
            await super().start(timeout)  # which closes, and so removes, on failure
        except ForkUnavailable as error:
            raise ForkUnavailable(f"{error}{self._failure}") from error
        self._started = True

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            if self.container_id is not None:
                if not self._started:
                    self._failure = await asyncio.to_thread(self._describe, self.container_id)
                await asyncio.to_thread(remove_containers, self.client, [self.container_id])

    def _describe(self, container_id: str) -> str:
        """The container's error and last output, for a fork server that did not start."""
        try:
            state = self.client.api.inspect_container(container_id)["State"]
            output: bytes = self.client.api.logs(container_id, tail=FAILURE_LINES)
        except EngineError:
            return ""
        said = output.decode("utf-8", errors="replace").strip()
        error = state.get("Error") or f"exit code {state.get('ExitCode')}"
        return f" ({error})" + (f": {said}" if said else "")
