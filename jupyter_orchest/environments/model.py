"""What environments, their builds and the backends that make and run them say to each other.

An environment is Orchest's: `.orchest/environments/<uuid>/properties.json` plus the
`setup_script.sh` beside it. A backend turns one into something steps can run in (a Docker
image, or a virtual environment under the project's `.orchest/venvs/`), and gives the
executor that runs steps there.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from ..engine.model import StepExecutor


@dataclass(frozen=True)
class Environment:
    """One environment of a project, as its files say."""

    uuid: str
    name: str
    base_image: str
    language: str
    gpu_support: bool
    setup_script: str
    project_dir: Path
    """The project it belongs to, absolute."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Keys of properties.json this version does not know: kept, never dropped."""

    @property
    def kernel_name(self) -> str:
        """Orchest's name for the kernel of this environment, so Orchest notebooks find it."""
        return f"orchest-kernel-{self.uuid}"


class BuildState(str, Enum):
    PENDING = "PENDING"
    BUILDING = "BUILDING"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    ABORTED = "ABORTED"

    @property
    def finished(self) -> bool:
        return self in (BuildState.SUCCESS, BuildState.FAILURE, BuildState.ABORTED)


@dataclass(frozen=True)
class BuildRequest:
    environment: Environment
    number: int
    """This environment's build number: 1 for its first build, then one more each time."""
    log: Callable[[str], None]
    """Receives the build's output as it comes (text, possibly several lines at once)."""


@dataclass(frozen=True)
class BuiltEnvironment:
    """What a successful build made: all a run needs to find it again."""

    backend: str
    """The name of the backend that built it ("docker", "local")."""
    environment_uuid: str
    project_dir: Path
    number: int
    reference: str
    """Where the backend finds it: a Docker image tag, or a virtual environment's folder."""
    fingerprint: str
    """Identifies its contents: an image id, or a hash of the packages installed in a venv.
    Equal fingerprints mean steps see the same software."""


class BuildFailed(Exception):
    """A build that did not succeed; the message says why and what to do, for the user."""


class BackendUnavailable(Exception):
    """The backend cannot work here (e.g. no Docker engine answers); the message says how to
    fix it or which backend to use instead."""


class EnvironmentBackend(Protocol):
    name: str

    async def check(self) -> None:
        """Raise BackendUnavailable unless builds and runs can work now."""

    async def build(self, request: BuildRequest) -> BuiltEnvironment:
        """Build the environment. Cancellation (asyncio) stops the build and leaves nothing a
        run could use; so does a failure, which raises BuildFailed."""

    async def is_present(self, built: BuiltEnvironment) -> bool:
        """Whether what the build made is still there (images and folders can be removed)."""

    async def remove(self, built: BuiltEnvironment) -> None:
        """Remove what the build made; no error if it is gone already."""

    def executor(self, built: BuiltEnvironment) -> StepExecutor:
        """An executor that runs steps inside this build; the caller starts and shuts it down."""

    def kernelspec(self, built: BuiltEnvironment, environment: Environment) -> dict[str, Any]:
        """The kernel.json content that starts a JupyterLab kernel inside this build."""
