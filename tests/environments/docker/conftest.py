"""A real Docker engine, a base image, and an environment built once for the whole session.

The tests skip, saying why, when no engine answers or the base image is missing (a laptop
without Docker still runs `make test`); CI sets JUPYTER_ORCHEST_REQUIRE_DOCKER=1 so that they
fail instead. The base image is `jupyter-orchest/base:bookworm` (`make docker-base-image`),
or the one JUPYTER_ORCHEST_TEST_BASE_IMAGE names.
"""

import asyncio
import os
import ssl
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest
from docker import DockerClient
from jupyter_client.provisioning.factory import KernelProvisionerFactory

from jupyter_orchest.environments.docker import DockerBackend
from jupyter_orchest.environments.docker.engine import check_engine, inspect_image
from jupyter_orchest.environments.docker.provisioner import PROVISIONER_NAME
from jupyter_orchest.environments.model import (
    BackendUnavailable,
    BuildRequest,
    BuiltEnvironment,
    Environment,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"
PROVISIONERS = "jupyter_client.kernel_provisioners"
BASE_IMAGE = os.environ.get("JUPYTER_ORCHEST_TEST_BASE_IMAGE", "jupyter-orchest/base:bookworm")
REQUIRED = os.environ.get("JUPYTER_ORCHEST_REQUIRE_DOCKER") == "1"
ORCHEST_BASE = "orchest/base-kernel-py"
SETUP_SCRIPT = """\
#!/bin/bash
set -euo pipefail
echo "setting up in $(pwd)"
# A small package from the index, through the CA bundle carried into the build.
pip install --no-cache-dir --progress-bar off six
# The project is there, read-only.
cp /project-dir/note.txt /opt/setup-marker
if touch /project-dir/written-by-build 2>/dev/null; then exit 9; fi
"""


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (JUPYTER_ORCHEST_REQUIRE_DOCKER=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def engine() -> Iterator[DockerClient]:
    try:
        check_engine()
    except BackendUnavailable as error:
        _unavailable(f"Docker tests need a Docker engine: {error}")
    client = docker.from_env()
    if inspect_image(client, BASE_IMAGE) is None:
        _unavailable(
            f"Docker tests need the base image {BASE_IMAGE}: make it with "
            "`make docker-base-image`, or name another with JUPYTER_ORCHEST_TEST_BASE_IMAGE"
        )
    yield client
    client.close()


def ca_bundle() -> Path | None:
    """The host's CA bundle, which containers need behind a TLS-intercepting proxy."""
    for candidate in (
        os.environ.get("PIP_CERT"),
        os.environ.get("SSL_CERT_FILE"),
        ssl.get_default_verify_paths().cafile,
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def make_backend(folder: Path, grace_period: float = 1.0) -> DockerBackend:
    return DockerBackend(
        base_images={ORCHEST_BASE: BASE_IMAGE},
        runtime_dir=folder / "runtime",
        sdk_parent=folder / "sdk",
        grace_period=grace_period,
        ca_bundle=ca_bundle(),
        carry_proxy=True,
    )


def make_environment(
    project: Path, uuid: str, setup_script: str, base_image: str = ORCHEST_BASE
) -> Environment:
    return Environment(
        uuid=uuid,
        name=f"Test {uuid}",
        base_image=base_image,
        language="python",
        gpu_support=False,
        setup_script=setup_script,
        project_dir=project,
    )


@dataclass
class BuildLog:
    chunks: list[str] = field(default_factory=list)

    def __call__(self, text: str) -> None:
        self.chunks.append(text)

    @property
    def text(self) -> str:
        return "".join(self.chunks)


def build(
    backend: DockerBackend, environment: Environment, number: int = 1
) -> tuple[BuiltEnvironment, BuildLog]:
    log = BuildLog()
    built = asyncio.run(backend.build(BuildRequest(environment, number, log)))
    return built, log


class Kit:
    """The helpers above, for the tests (a conftest cannot be imported by name)."""

    make_backend = staticmethod(make_backend)
    make_environment = staticmethod(make_environment)
    build = staticmethod(build)
    ca_bundle = staticmethod(ca_bundle)
    BASE_IMAGE = BASE_IMAGE


@pytest.fixture
def kit() -> type[Kit]:
    return Kit


@dataclass(frozen=True)
class Built:
    """The session's environment: its project, backend, build and build log."""

    project: Path
    backend: DockerBackend
    environment: Environment
    built: BuiltEnvironment
    log: BuildLog
    work: Path


@pytest.fixture(scope="session")
def built(engine: DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    work = tmp_path_factory.mktemp("docker")
    project = work / "project"
    (project / ".orchest").mkdir(parents=True)
    (project / "note.txt").write_text("the project was mounted\n")
    backend = make_backend(work)
    environment = make_environment(project, "env-session", SETUP_SCRIPT)
    built, log = build(backend, environment)
    yield Built(project, backend, environment, built, log, work)
    asyncio.run(backend.remove(built))


@pytest.fixture
def provisioner_registered() -> None:
    """The provisioner as pyproject.toml declares it, also when the installed package's
    metadata predates it (an editable install made before the entry point was added)."""
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["entry-points"][PROVISIONERS]
    assert PROVISIONER_NAME in declared
    factory = KernelProvisionerFactory.instance()
    if PROVISIONER_NAME not in factory.provisioners:
        from importlib.metadata import EntryPoint

        entry = EntryPoint(PROVISIONER_NAME, declared[PROVISIONER_NAME], PROVISIONERS)
        factory.provisioners[PROVISIONER_NAME] = entry
