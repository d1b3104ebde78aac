"""`%orchest` in a JupyterLab kernel inside an environment's Docker image: it reaches the
server from the container and loads inputs at the paths the container sees.

Skips, saying why, without a Docker engine or the base image (`make docker-base-image`);
with JUPYTER_ORCHEST_REQUIRE_DOCKER=1 (CI) it fails instead.
"""

import asyncio
import os
import sys
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import docker
import pytest
from jupyter_client.provisioning.factory import KernelProvisionerFactory
from magics.notebook_kernels import PIPELINE, SUMMARIZE, Kernels, clean_measurements

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

BASE_IMAGE = os.environ.get("JUPYTER_ORCHEST_TEST_BASE_IMAGE", "jupyter-orchest/base:bookworm")
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
PROVISIONERS = "jupyter_client.kernel_provisioners"
ApiCall = Any


def unavailable(reason: str) -> None:
    if os.environ.get("JUPYTER_ORCHEST_REQUIRE_DOCKER") == "1":
        pytest.fail(f"{reason} (JUPYTER_ORCHEST_REQUIRE_DOCKER=1)")
    pytest.skip(reason)


@pytest.fixture
def docker_kernelspec(
    project: Path, tmp_path: Path, jp_asyncio_loop: Any
) -> Iterator[dict[str, Any]]:
    """The kernelspec of a Docker environment built for the project."""
    try:
        check_engine()
    except BackendUnavailable as error:
        unavailable(f"Docker kernels need a Docker engine: {error}")
    backend = DockerBackend(
        base_images={"orchest/base-kernel-py": BASE_IMAGE},
        runtime_dir=tmp_path / "runtime",
        sdk_parent=tmp_path / "sdk",
        grace_period=1.0,
    )
    client = docker.from_env()
    has_base_image = inspect_image(client, BASE_IMAGE) is not None
    client.close()
    if not has_base_image:
        unavailable(f"Docker kernels need the base image {BASE_IMAGE}")
    environment = Environment(
        uuid="magics-env",
        name="Magics",
        base_image="orchest/base-kernel-py",
        language="python",
        gpu_support=False,
        setup_script="#!/bin/bash\ntrue\n",
        project_dir=project,
    )
    request = BuildRequest(environment, 1, print)
    built: BuiltEnvironment = jp_asyncio_loop.run_until_complete(backend.build(request))
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["entry-points"][PROVISIONERS]
    factory = KernelProvisionerFactory.instance()
    factory.provisioners.setdefault(
        PROVISIONER_NAME, EntryPoint(PROVISIONER_NAME, declared[PROVISIONER_NAME], PROVISIONERS)
    )
    yield backend.kernelspec(built, environment)
    jp_asyncio_loop.run_until_complete(backend.remove(built))


async def test_inputs_and_status_in_a_docker_kernel(
    project: Path, kernels: Kernels, api: ApiCall, docker_kernelspec: dict[str, Any]
) -> None:
    (project / "data").mkdir()
    code, run = await api(
        "POST", "runs", body={"pipeline": PIPELINE, "type": "incoming", "steps": [SUMMARIZE]}
    )
    assert code == 201
    while run["state"] not in ("SUCCESS", "FAILURE", "ABORTED"):
        await asyncio.sleep(0.1)
        code, run = await api("GET", "runs", run["id"])
    assert run["state"] == "SUCCESS"

    # As the server starts it for the notebook: its environment and the notebook's path.
    kernel = await kernels.start(project / "summarize.ipynb", docker_kernelspec)
    assert await kernel.value("__import__('os').path.exists('/.dockerenv')") is True
    loaded = await kernel.run("inputs = %orchest inputs")  # loaded with the kernel
    assert loaded.status == "ok", loaded
    assert await kernel.value("inputs['clean_measurements']") == clean_measurements()
    where = await kernel.value(
        "{k: v for k, v in __import__('os').environ.items() if k.endswith('_DIR')}"
    )
    assert where["ORCHEST_PROJECT_DIR"] == "/project-dir"
    assert where["ORCHEST_DATA_DIR"] == "/data"
    assert where["ORCHEST_OUTPUTS_DIR"].startswith("/project-dir/.orchest/pipelines/")

    status = await kernel.run("%orchest status")
    assert "Summarize (this notebook)" in status.shown[-1], status
