"""The Docker backend: environments built as Docker images, steps and kernels run in their
containers.

- `build`: base image, kernel support, setup script; images tagged per project, environment
  and build number, and reused when nothing they follow from changed;
- `executor`: steps in containers (notebooks in kernels forked inside a long-lived container,
  scripts in a fresh container each);
- `provisioner`: JupyterLab kernels in the same images;
- `containers`, `kernel_container`, `scripts`: running containers; `layout`: paths inside
  them; `settings`: what they get besides their image; `labels`: finding them again;
  `engine`: reaching the Docker engine.
"""

import asyncio
import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from docker import DockerClient
from docker.errors import ImageNotFound, NotFound

from ...engine.model import StepExecutor
from ..model import (
    BackendUnavailable,
    BuildFailed,
    BuildRequest,
    BuiltEnvironment,
    Environment,
)
from ..sdk_bundle import sdk_bundle
from . import labels
from .build import ImageBuilder
from .engine import EngineError, check_engine, connect, inspect_image, where
from .executor import DockerExecutor
from .provisioner import kernelspec
from .settings import Carried

__all__ = ["DockerBackend"]


class DockerBackend:
    """Environments as Docker images (see the package's docs).

    base_images: Orchest's base image names (and any others) mapped to images to build from;
        names not in it are used as they are.
    runtime_dir: where builds keep their scratch files.
    sdk_parent: where the SDK's folder is made (see `sdk_bundle`), mounted into containers.
    grace_period: seconds a cancelled step gets between interrupt and kill.
    ca_bundle, pip_config, carry_proxy: what to carry into builds and containers so that
        they reach a package index (a CA bundle, a pip configuration file, the proxy
        variables of the server's environment).
    """

    name = "docker"

    def __init__(
        self,
        *,
        base_images: Mapping[str, str],
        runtime_dir: Path,
        sdk_parent: Path,
        grace_period: float,
        ca_bundle: Path | None = None,
        pip_config: Path | None = None,
        carry_proxy: bool = False,
    ) -> None:
        self.base_images = dict(base_images)
        self.runtime_dir = runtime_dir
        self.sdk_parent = sdk_parent
        self.grace_period = grace_period
        self.carried = Carried(ca_bundle, pip_config, carry_proxy)
        self._builder = ImageBuilder(self.carried, runtime_dir / "docker-builds")
        self._client: DockerClient | None = None

    async def check(self) -> None:
        await asyncio.to_thread(check_engine)

    async def build(self, request: BuildRequest) -> BuiltEnvironment:
        environment = request.environment
        base = self.base_images.get(environment.base_image, environment.base_image)
        try:
            client = await self._docker()
        except BackendUnavailable as error:
            raise BuildFailed(str(error)) from error
        return await self._builder.build(client, request, base)

    async def is_present(self, built: BuiltEnvironment) -> bool:
        client = await self._docker()
        image = await asyncio.to_thread(inspect_image, client, built.reference)
        return image is not None and image["Id"] == built.fingerprint

    async def remove(self, built: BuiltEnvironment) -> None:
        client = await self._docker()
        with contextlib.suppress(ImageNotFound, NotFound):
            # Only the tag goes if another build's tag names the same image; the image stays
            # as long as containers of running steps use it.
            await asyncio.to_thread(client.api.remove_image, built.reference, force=True)

    def executor(self, built: BuiltEnvironment, network: str | None = None) -> StepExecutor:
        """`network`: the Docker network its containers join (see DockerExecutor)."""
        return DockerExecutor(
            image=built.reference,
            image_id=built.fingerprint,
            project_dir=built.project_dir,
            sdk_parent=self.sdk_parent,
            carried=self.carried,
            grace_period=self.grace_period,
            network=network,
        )

    def kernelspec(self, built: BuiltEnvironment, environment: Environment) -> dict[str, Any]:
        return kernelspec(
            image=built.reference,
            display_name=f"{environment.name} (Docker)",
            project_dir=environment.project_dir,
            data_dir=environment.project_dir / "data",
            sdk_dir=sdk_bundle(self.sdk_parent),
            gpu=environment.gpu_support,
            carried=self.carried,
        )

    async def _docker(self) -> DockerClient:
        """A client for the engine, after leftovers of dead servers are removed; raises
        BackendUnavailable if no engine answers."""
        if self._client is None:
            await self.check()
            try:
                client = await asyncio.to_thread(connect)
            except EngineError as error:
                raise BackendUnavailable(
                    f"Cannot use the Docker engine at {where()}: {error}"
                ) from error
            await asyncio.to_thread(labels.remove_leftovers, client)
            self._client = client
        return self._client
