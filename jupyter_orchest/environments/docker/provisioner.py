"""JupyterLab kernels inside an environment's image: a jupyter_client kernel provisioner, and
the kernelspec that names it.

The kernel runs in a container of its own (under an init process, which passes interrupts on)
as the server's user, with the project at `/project-dir` (its working directory translated
there), the data folder at `/data` when there is one, the SDK importable, and the folder of
its connection file mounted at the same path. It uses the host's network, so the ports (or
Unix sockets) the kernel manager chose work unchanged. Registered under the
`jupyter_client.kernel_provisioners` entry point as `jupyter-orchest-docker`.
"""

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from docker import DockerClient
from docker.errors import APIError, NotFound
from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning.local_provisioner import LocalProvisioner
from traitlets import Bool, Unicode

from ...sdk.server_link import (
    CONTAINER_PATHS,
    KERNEL_ARGUMENT,
    SERVER_TOKEN,
    SERVER_URL,
    ContainerPaths,
)
from . import labels, layout
from .containers import ContainerSpec, remove_containers
from .engine import connect, inspect_image
from .settings import Carried, StepContainers, image_environment, mounts_for, server_user, writable

PROVISIONER_NAME = "jupyter-orchest-docker"
KERNEL_ARGV = ["python3", "-m", "ipykernel_launcher", KERNEL_ARGUMENT, "-f", "{connection_file}"]
POLL_INTERVAL = 0.1
SESSION_VARIABLE = "JPY_SESSION_NAME"
"""The notebook's path, which ipykernel shows as `__session__`: translated like the cwd."""


def kernelspec(
    *,
    image: str,
    display_name: str,
    project_dir: Path,
    data_dir: Path | None,
    sdk_dir: Path,
    gpu: bool,
    carried: Carried,
) -> dict[str, Any]:
    """kernel.json content for a Python kernel in `image`."""
    config = {
        "image": image,
        "project_dir": str(project_dir),
        "data_dir": str(data_dir or ""),
        "sdk_dir": str(sdk_dir),
        "gpu": gpu,
        "ca_bundle": str(carried.ca_bundle or ""),
        "pip_config": str(carried.pip_config or ""),
        "carry_proxy": carried.carry_proxy,
    }
    return {
        "argv": KERNEL_ARGV,
        "display_name": display_name,
        "language": "python",
        "interrupt_mode": "signal",
        "env": {},
        "metadata": {
            "kernel_provisioner": {"provisioner_name": PROVISIONER_NAME, "config": config}
        },
    }


class DockerKernelProvisioner(LocalProvisioner):
    """Starts, signals, polls and removes a kernel's container. The kernel manager still
    writes the connection file and chooses the ports, as for a local kernel."""

    image = Unicode(help="The image (tag or id) the kernel runs in.").tag(config=True)
    project_dir = Unicode(help="The project, mounted at /project-dir.").tag(config=True)
    data_dir = Unicode("", help="The data folder, mounted at /data if it exists.").tag(config=True)
    sdk_dir = Unicode(help="The SDK's folder, mounted read-only.").tag(config=True)
    gpu = Bool(False, help="Request the host's GPUs.").tag(config=True)
    ca_bundle = Unicode("", help="A CA bundle to carry into the container.").tag(config=True)
    pip_config = Unicode("", help="A pip configuration to carry in.").tag(config=True)
    carry_proxy = Bool(False, help="Carry the proxy variables in.").tag(config=True)

    container_id: str | None = None
    _client: DockerClient | None = None

    @property
    def has_process(self) -> bool:
        return self.container_id is not None

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        client = await asyncio.to_thread(self._docker)
        await asyncio.to_thread(labels.remove_leftovers, client)
        spec = await asyncio.to_thread(self._container, client, cmd, kwargs)
        container_id = await asyncio.to_thread(spec.create, client)
        self.container_id = container_id
        await asyncio.to_thread(client.api.start, container_id)
        return self.connection_info

    async def poll(self) -> int | None:
        if self.container_id is None:
            return 0
        try:
            attrs = await asyncio.to_thread(self._docker().api.inspect_container, self.container_id)
        except NotFound:
            return -1
        state = attrs["State"]
        return None if state.get("Running") else int(state.get("ExitCode", -1))

    async def wait(self) -> int | None:
        while (code := await self.poll()) is None:
            await asyncio.sleep(POLL_INTERVAL)
        return code

    async def send_signal(self, signum: int) -> None:
        if self.container_id is not None:
            with contextlib.suppress(NotFound, APIError):  # APIError: not running any more
                await asyncio.to_thread(self._docker().api.kill, self.container_id, signum)

    async def kill(self, restart: bool = False) -> None:
        await self.send_signal(9)

    async def terminate(self, restart: bool = False) -> None:
        await self.send_signal(15)

    async def cleanup(self, restart: bool = False) -> None:
        container_id, self.container_id = self.container_id, None
        if container_id is not None:
            await asyncio.to_thread(remove_containers, self._docker(), [container_id])
        await super().cleanup(restart)

    async def get_provisioner_info(self) -> dict[str, Any]:
        info: dict[str, Any] = await super().get_provisioner_info()
        info["container_id"] = self.container_id
        return info

    async def load_provisioner_info(self, provisioner_info: dict[str, Any]) -> None:
        await super().load_provisioner_info(provisioner_info)
        self.container_id = provisioner_info.get("container_id")

    def _docker(self) -> DockerClient:
        if self._client is None:
            self._client = connect()
        return self._client

    def _container(
        self, client: DockerClient, cmd: list[str], kwargs: dict[str, Any]
    ) -> ContainerSpec:
        """What to run: blocking (it inspects the image)."""
        image = inspect_image(client, self.image)
        if image is None:
            raise RuntimeError(
                f"The environment's image {self.image} is not in the Docker engine: build the "
                "environment again."
            )
        image_env = image_environment(image)
        carried = Carried(
            Path(self.ca_bundle) if self.ca_bundle else None,
            Path(self.pip_config) if self.pip_config else None,
            self.carry_proxy,
        )
        step_containers = StepContainers(Path(self.sdk_dir), carried, self.gpu)
        data_dir = Path(self.data_dir) if self.data_dir and Path(self.data_dir).is_dir() else None
        project = layout.ProjectMounts(Path(self.project_dir), data_dir)
        paths = layout.PathMap(project.pairs())
        env: dict[str, str] = kwargs.get("env") or {}
        # The kernelspec's own variables, the session's name and how `%orchest` reaches the
        # server (the container shares the host's network, so its URL works unchanged); not
        # the rest of the server's environment.
        passed = [*self.kernel_spec.env, SESSION_VARIABLE, SERVER_URL, SERVER_TOKEN]
        chosen = {name: env[name] for name in passed if name in env}
        chosen[CONTAINER_PATHS] = ContainerPaths.encode(
            [
                (str(form), str(inside))
                for host, inside in project.pairs()
                for form in dict.fromkeys((host, host.resolve()))
            ]
        )
        cwd = kwargs.get("cwd")
        working_dir = (paths.path(Path(cwd)) if cwd else None) or layout.PROJECT_DIR
        assert self.parent is not None, "provisioners belong to a kernel manager"
        connection_dir = Path(self.parent.connection_file).parent
        # jupyter_client puts its own Python in place of a leading `python3`; here it must be
        # the image's.
        command = [KERNEL_ARGV[0], *cmd[1:]]
        return ContainerSpec(
            image=self.image,
            command=command,
            labels=labels.container_labels(str(self.kernel_id or ""), "kernel"),
            working_dir=str(working_dir),
            environment={**step_containers.environment(image_env), **paths.environment(chosen)},
            user=server_user(),
            mounts=[
                *mounts_for(project),
                writable(connection_dir, connection_dir),
                *step_containers.mounts(),
            ],
            host_config={**step_containers.host_config(), "init": True, "network_mode": "host"},
        )
