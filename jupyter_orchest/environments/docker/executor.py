"""The Docker executor: runs steps inside an environment's image.

Notebooks run exactly as the local executor runs them (cell by cell, outputs written back after
every cell, kernels forked, started ahead of need and handed their step), with kernels forked
inside a long-lived container of the image (see `kernel_container`). Scripts run in a fresh
container each (see `scripts`). Either way the step sees the project at `/project-dir` (working
directory: its file's folder there), the data folder at `/data`, the SDK on its PYTHONPATH, its
variables with host paths translated, and runs as the server's user.

Containers outlive steps but not the executor: `shutdown` removes every container it started,
and `start` removes those of servers that died without doing so.
"""

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docker import DockerClient
from jupyter_client.kernelspec import (
    NATIVE_KERNEL_NAME,
    KernelSpec,
    KernelSpecManager,
    NoSuchKernel,
)

from ...engine.executors import LocalExecutor
from ...engine.executors.forkserver import ForkUnavailable
from ...engine.executors.kernels import Kernel, KernelKey
from ...engine.model import StepReporter, StepResult, StepTask
from ...sdk.server_link import KERNEL_ARGUMENT
from ..sdk_bundle import sdk_bundle
from . import labels, layout
from .containers import ContainerSpec, remove_containers
from .engine import EngineError, connect, inspect_image, where
from .kernel_container import ContainerForkServer, kernels_container
from .scripts import CONTAINER_INTERPRETERS, run_script_in_container
from .settings import Carried, StepContainers, image_environment, mounts_for, server_user

NOTEBOOK_SUFFIX = ".ipynb"
StartupEnv = tuple[tuple[str, str], ...]
"""Variables a kernel's container is started with (see `KernelKey.startup_env`)."""
KERNEL_ARGV = ["python3", "-m", "ipykernel_launcher", KERNEL_ARGUMENT, "-f", "{connection_file}"]


class ImageKernelSpecs(KernelSpecManager):
    """The kernel every environment's image has: python3 with ipykernel (see `build`)."""

    def find_kernel_specs(self) -> dict[str, str]:
        return {NATIVE_KERNEL_NAME: ""}

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        if kernel_name != NATIVE_KERNEL_NAME:
            raise NoSuchKernel(kernel_name)
        return KernelSpec(
            argv=KERNEL_ARGV, display_name="Python 3", language="python", resource_dir=""
        )


@dataclass(frozen=True)
class ContainerKernelKey(KernelKey):
    """Kernels are interchangeable only if their containers mount the same folders."""

    mounts: layout.ProjectMounts | None = None


class ContainerUnavailable(Exception):
    """The container for a step's kernels could not start; the message says why."""


class DockerExecutor(LocalExecutor):
    """Runs steps in containers of one image (one build of an environment).

    image: the image's tag; image_id: its id (the build's fingerprint). A step fails, saying
        so, when the tag is gone or names another image (the environment was deleted or
        rebuilt).
    project_dir: the environment's project, mounted for tasks that do not name their own.
    network: a Docker network every container of the executor joins (an interactive
        session's, whose services its steps reach by name); None: Docker's default.
    """

    def __init__(
        self,
        *,
        image: str,
        image_id: str,
        project_dir: Path,
        sdk_parent: Path,
        carried: Carried,
        grace_period: float,
        network: str | None = None,
    ) -> None:
        # No standby kernel: the folders its container mounts are known only with a step.
        super().__init__(
            grace_period=grace_period,
            standby_kernels=0,
            kernel_spec_manager=ImageKernelSpecs(),
            fork_kernels=True,
            mount_orchest_paths=False,  # the containers mount /data and /project-dir
        )
        self.image = image
        self.image_id = image_id
        self.project_dir = project_dir
        self.sdk_parent = sdk_parent
        self.carried = carried
        self.network = network
        self.group = uuid.uuid4().hex
        """Labels every container of this executor, so that shutdown finds them all."""
        self._client: DockerClient | None = None
        self._step_containers: StepContainers | None = None
        self._environ: dict[str, str] = {}
        self._servers: dict[tuple[layout.ProjectMounts, StartupEnv], ContainerForkServer] = {}
        self._retired_servers: list[ContainerForkServer] = []
        self._server_lock = asyncio.Lock()

    async def start(self) -> None:
        if self._client is None:
            self._client = await asyncio.to_thread(connect)
            await asyncio.to_thread(labels.remove_leftovers, self._client)
            sdk_dir = await asyncio.to_thread(sdk_bundle, self.sdk_parent)
            try:
                image = await asyncio.to_thread(self._inspect_image)
            except EngineError:
                image = None  # steps will say what is wrong
            image_labels = (image or {}).get("Config", {}).get("Labels") or {}
            gpu = image_labels.get(labels.GPU_SUPPORT) == "true"
            self._step_containers = StepContainers(sdk_dir, self.carried, gpu, self.network)
            self._environ = self._step_containers.environment(image_environment(image or {}))
        await super().start()

    async def run_step(self, task: StepTask, reporter: StepReporter) -> StepResult:
        problem = await self._image_problem()
        if problem is not None:
            return StepResult(False, problem)
        project = self._mounts(task)
        if layout.PathMap(project.pairs()).path(task.working_dir) is None:
            return StepResult(
                False, f"the step's file {task.file} is not in its project {project.project_dir}"
            )
        suffix = task.file.suffix.lower()
        if suffix == NOTEBOOK_SUFFIX:
            return await super().run_step(task, reporter)
        interpreter = CONTAINER_INTERPRETERS.get(suffix)
        if interpreter is None:
            known = ", ".join(sorted({NOTEBOOK_SUFFIX, *CONTAINER_INTERPRETERS}))
            return StepResult(
                False,
                f"cannot run {task.file.name}: no way to run {suffix or 'such'} files "
                f"is known (known: {known})",
            )
        cwd, env = self._kernel_place(task)
        container_file = cwd / task.file.name
        spec = self._step_container(
            project,
            command=[*interpreter.command, str(container_file)],
            working_dir=str(cwd),
            environment={**self._environ, **env},
            role="script",
            host_config={"init": True},
        )
        return await run_script_in_container(
            self._docker(), task, reporter, interpreter, spec, self.grace_period
        )

    async def environment_identity(self, task: StepTask) -> str:
        """The image: steps in it see the same software for as long as it exists."""
        return f"docker:{self.image_id}"

    async def shutdown(self) -> None:
        await super().shutdown()
        async with self._server_lock:
            servers = [*self._servers.values(), *self._retired_servers]
            self._servers.clear()
            self._retired_servers.clear()
        await asyncio.gather(*(server.close() for server in servers), return_exceptions=True)
        if self._client is not None:
            client = self._client
            try:
                left = await asyncio.to_thread(
                    labels.containers_labelled, client, labels.GROUP, self.group
                )
                await asyncio.to_thread(remove_containers, client, left)
            except EngineError:
                pass  # the engine is gone, and its containers with it; a later start cleans up
            await asyncio.to_thread(client.close)
            self._client = None

    # The local executor's hooks: kernels in containers

    def _kernel_key(self, name: str, spec: KernelSpec, task: StepTask) -> KernelKey:
        key = super()._kernel_key(name, spec, task)
        return ContainerKernelKey(key.name, key.startup_env, mounts=self._mounts(task))

    def _kernel_place(self, task: StepTask) -> tuple[Path, Mapping[str, str]]:
        paths = layout.PathMap(self._mounts(task).pairs())
        cwd = paths.path(task.working_dir) or layout.PROJECT_DIR
        return Path(cwd), paths.environment(task.env)

    def _kernel_environ(self) -> Mapping[str, str]:
        return self._environ

    async def _start_kernel(
        self, key: KernelKey, spec: KernelSpec, cwd: Path, env: Mapping[str, str]
    ) -> Kernel:
        mounts = key.mounts if isinstance(key, ContainerKernelKey) else None
        project = mounts or layout.ProjectMounts(self.project_dir, None)
        sockets = self._runtime() / f"kernel-{uuid.uuid4().hex[:12]}"

        async def fork() -> Kernel:
            server = await self._kernel_server(project, key.startup_env)
            return await server.launch(
                key,
                spec,
                cwd,
                env,
                self.kernel_startup_timeout,
                self.kernel_shutdown_wait,
                self._zmq_context(),
                sockets,
            )

        try:
            return await fork()
        except ForkUnavailable:
            # Packages changed in the container (a step installed some): its fork server
            # retired itself, and the next one runs in a fresh container.
            return await fork()

    # Containers

    async def _kernel_server(
        self, project: layout.ProjectMounts, startup_env: StartupEnv
    ) -> ContainerForkServer:
        """The running fork server for kernels with these mounts and start-up variables,
        started in a new container if need be."""
        async with self._server_lock:
            server = self._servers.get((project, startup_env))
            if server is not None and server.usable:
                return server
            if server is not None:
                self._retired_servers.append(server)  # closed at shutdown
            if project.data_dir is not None:
                # Made here, as the user: Docker would make a missing folder as root.
                await asyncio.to_thread(project.data_dir.mkdir, parents=True, exist_ok=True)
            spec = kernels_container(
                image_id=self.image_id,
                project=project,
                runtime_dir=self._runtime(),
                step_containers=self._containers(),
                environment={**self._environ, **dict(startup_env)},
                labels=labels.container_labels(self.group, "kernels"),
            )
            server = ContainerForkServer(self._docker(), spec, self._runtime())
            try:
                await server.start(self.kernel_startup_timeout)
            except (*EngineError, ForkUnavailable, asyncio.TimeoutError, ValueError) as error:
                raise ContainerUnavailable(
                    f"the container for the environment's kernels ({self.image}) did not "
                    f"start: {error or type(error).__name__}"
                ) from error
            self._servers[(project, startup_env)] = server
            return server

    def _step_container(
        self,
        project: layout.ProjectMounts,
        *,
        command: list[str],
        working_dir: str,
        environment: dict[str, str],
        role: str,
        host_config: dict[str, Any],
    ) -> ContainerSpec:
        step_containers = self._containers()
        return ContainerSpec(
            image=self.image_id,
            command=command,
            labels=labels.container_labels(self.group, role),
            working_dir=working_dir,
            environment=environment,
            user=server_user(),
            mounts=[*mounts_for(project), *step_containers.mounts()],
            host_config={**step_containers.host_config(), **host_config},
        )

    def _mounts(self, task: StepTask) -> layout.ProjectMounts:
        return layout.ProjectMounts(task.project_dir or self.project_dir, task.data_dir)

    async def _image_problem(self) -> str | None:
        """Why steps cannot run in the image now, or None."""
        try:
            image = await asyncio.to_thread(self._inspect_image)
        except EngineError as error:
            return f"the Docker engine cannot be reached ({where()}): {error}"
        if image is None:
            return (
                f"the environment's image {self.image} is no longer in the Docker engine (the "
                "environment was deleted or its image removed): build the environment again"
            )
        if image["Id"] != self.image_id:
            return (
                f"the image {self.image} is not the one this run was started with (the "
                "environment was rebuilt meanwhile): run the pipeline again"
            )
        return None

    def _inspect_image(self) -> dict[str, Any] | None:
        return inspect_image(self._docker(), self.image)

    def _docker(self) -> DockerClient:
        assert self._client is not None, "the executor was started"
        return self._client

    def _containers(self) -> StepContainers:
        assert self._step_containers is not None, "the executor was started"
        return self._step_containers
