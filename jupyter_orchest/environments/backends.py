"""Which backend builds environments and runs steps in them: `auto` (Docker when an engine
answers, else local), `docker`, `local`, or `none` (no environments: steps run with the
server's own kernels and interpreters).

`auto` decides once, at first use: asking the Docker engine takes time, and a server started
without Docker would otherwise pay for it at start-up.
"""

import asyncio
import importlib
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from jupyter_core.paths import jupyter_data_dir

from .local import LocalBackend
from .model import BackendUnavailable, EnvironmentBackend

log = logging.getLogger(__name__)

CHOICES = ("auto", "docker", "local", "none")
DEFAULT_BASE_IMAGES = {
    "orchest/base-kernel-py": "python:3.11-slim",
    "orchest/base-kernel-r": "r-base",
    "orchest/base-kernel-julia": "julia",
}
"""Public images for Orchest's base images, whose own images are not published any more."""
NONE_MESSAGE = (
    "Environments are turned off (the environment backend is 'none'): steps run with the "
    "server's own kernels and interpreters. Set OrchestApp.environment_backend to 'local' or "
    "'docker' to build environments."
)


@dataclass(frozen=True)
class BackendSettings:
    choice: str
    """One of CHOICES."""
    sdk_parent: Path
    """Where the SDK's folder for environments is made (see `sdk_bundle`)."""
    runtime_dir: Path
    """Docker: a folder for kernels' connection files and sockets."""
    base_images: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_BASE_IMAGES))
    """Orchest's base image names and the images used for them (Docker)."""
    grace_period: float = 3.0
    ca_bundle: Path | None = None
    pip_config: Path | None = None
    carry_proxy: bool = False
    check_timeout: float = 5.0
    """Seconds `auto` waits for a Docker engine to answer."""


def data_dir() -> Path:
    """This extension's folder in Jupyter's data folder: the SDK's folder for environments
    and the environments' kernelspecs live there."""
    return Path(jupyter_data_dir()) / "orchest"


def kernelspecs_dir() -> Path:
    """Where built environments' kernelspecs are installed, for the server to add to its
    kernelspec folders."""
    return data_dir() / "kernels"


def default_settings(choice: str, **options: Any) -> BackendSettings:
    """Settings with this machine's folders; `options` as BackendSettings takes them."""
    return BackendSettings(
        choice=choice,
        sdk_parent=data_dir() / "sdk",
        # Short and per user: Unix socket paths must stay under about 100 characters.
        runtime_dir=Path(tempfile.gettempdir()) / f"orchest-docker-{os.getuid()}",
        **options,
    )


class BackendChoice:
    def __init__(self, settings: BackendSettings) -> None:
        if settings.choice not in CHOICES:
            raise ValueError(f"the environment backend must be one of {', '.join(CHOICES)}")
        self.settings = settings
        self._chosen: asyncio.Future[EnvironmentBackend] | None = None
        self._made: dict[str, EnvironmentBackend] = {}

    @property
    def enabled(self) -> bool:
        return self.settings.choice != "none"

    async def get(self) -> EnvironmentBackend:
        """The backend, chosen at the first call; BackendUnavailable when there is none."""
        if not self.enabled:
            raise BackendUnavailable(NONE_MESSAGE)
        if self._chosen is None:
            self._chosen = asyncio.ensure_future(self._choose())
        return await asyncio.shield(self._chosen)

    def named(self, name: str) -> EnvironmentBackend | None:
        """The backend of that name, if it can be made here (to remove what it built)."""
        try:
            return self._local() if name == LocalBackend.name else self._docker()
        except BackendUnavailable:
            return None

    async def _choose(self) -> EnvironmentBackend:
        choice = self.settings.choice
        if choice == "local":
            return self._local()
        if choice == "docker":
            return self._docker()
        try:
            docker = self._docker()
            await asyncio.wait_for(docker.check(), self.settings.check_timeout)
        except (BackendUnavailable, asyncio.TimeoutError) as error:
            log.info("Environments are built locally: no Docker engine answered (%s)", error)
            return self._local()
        log.info("Environments are built with Docker")
        return docker

    def _local(self) -> EnvironmentBackend:
        if "local" not in self._made:
            self._made["local"] = LocalBackend(
                sdk_parent=self.settings.sdk_parent, grace_period=self.settings.grace_period
            )
        return self._made["local"]

    def _docker(self) -> EnvironmentBackend:
        if "docker" not in self._made:
            try:
                # Imported here: the Docker SDK is only loaded when Docker may be used.
                module = importlib.import_module(".docker", __package__)
                backend = module.DockerBackend(
                    base_images=dict(self.settings.base_images),
                    runtime_dir=self.settings.runtime_dir,
                    sdk_parent=self.settings.sdk_parent,
                    grace_period=self.settings.grace_period,
                    ca_bundle=self.settings.ca_bundle,
                    pip_config=self.settings.pip_config,
                    carry_proxy=self.settings.carry_proxy,
                )
            except (ImportError, AttributeError) as error:
                raise BackendUnavailable(
                    f"The Docker backend cannot be loaded ({error}): install the `docker` "
                    "Python package, or use the local backend."
                ) from None
            self._made["docker"] = cast(EnvironmentBackend, backend)
        return self._made["docker"]
