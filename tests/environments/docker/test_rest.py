"""End to end over REST with `environment_backend = "docker"`: Orchest's example project builds
its environment as an image and runs unchanged in containers, with a pipeline of our own
proving where its steps ran; its kernel reaches JupyterLab; deleting the environment removes
its image."""

import asyncio
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from docker import DockerClient

from jupyter_orchest.environments.docker import labels
from jupyter_orchest.environments.docker.engine import inspect_image
from support import EXAMPLE_PROJECT, FINISHED_RUN_STATES, make_step, pipeline_writer

ApiCall = Any
Kit = Any
EXAMPLE_ENVIRONMENT = "3d9c6b0e-7f1a-4c55-9d3e-2b8f6a1c4e70"
PROOF_SCRIPT = """\
import os
import orchest
print("container:", os.path.exists("/.dockerenv"), os.getcwd(), os.environ["ORCHEST_DATA_DIR"])
print("from the notebook:", orchest.get_inputs()["greeting"])
"""


@pytest.fixture
def jp_server_config(engine: DockerClient, kit: Kit) -> dict[str, Any]:
    bundle = kit.ca_bundle()
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_orchest": True}},
        "OrchestApp": {
            "environment_backend": "docker",
            "base_images": {"orchest/base-kernel-py": kit.BASE_IMAGE},
            "build_ca_bundle": str(bundle) if bundle else "",
            "build_carry_proxy": True,
            "kernel_grace_period": 1.0,
        },
    }


async def finished_run(api: ApiCall, run_id: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        _, run = await api("GET", "runs", run_id)
        if run["state"] in FINISHED_RUN_STATES:
            return dict(run)
        assert time.monotonic() < deadline, f"run {run_id} did not finish"
        await asyncio.sleep(0.2)


def write_notebook(path: Path, cells: list[str]) -> None:
    notebook = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    notebook.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    notebook.cells = [nbformat.v4.new_code_cell(cell) for cell in cells]  # type: ignore[no-untyped-call]
    path.write_text(nbformat.writes(notebook), encoding="utf-8")  # type: ignore[no-untyped-call]


@pytest.fixture
def project(jp_root_dir: Path, engine: DockerClient) -> Iterator[Path]:
    """The example project, copied; whatever images it got go at the end, passed or not."""
    folder = jp_root_dir / "quickstart"
    shutil.copytree(EXAMPLE_PROJECT, folder)
    yield folder
    for image in engine.api.images(filters={"label": f"{labels.PROJECT_DIR}={folder}"}):
        engine.api.remove_image(image["Id"], force=True)


async def test_an_orchest_project_runs_in_docker_over_rest(
    api: ApiCall,
    project: Path,
    jp_fetch: Any,
    engine: DockerClient,
    provisioner_registered: None,
) -> None:
    # The example, unchanged: its first step builds its environment.
    status, run = await api("POST", "runs", body={"pipeline": "quickstart/quickstart.orchest"})
    assert status == 201, run
    run = await finished_run(api, run["id"])
    assert run["state"] == "SUCCESS", [(s["title"], s["message"]) for s in run["steps"]]
    _, build = await api(
        "GET", "environments", EXAMPLE_ENVIRONMENT, "builds", "1", params={"project": "quickstart"}
    )
    assert build["state"] == "SUCCESS" and build["backend"] == "docker"
    image = inspect_image(engine, build["reference"])
    assert image is not None and image["Id"] == build["fingerprint"]

    # Our own pipeline in the same environment says where it ran.
    write_notebook(
        project / "hello.ipynb",
        ["import os, orchest", "orchest.output(f'hello from {os.getcwd()}', name='greeting')"],
    )
    pipeline_writer(project)(
        [
            make_step("hello", "hello.ipynb", [], environment=EXAMPLE_ENVIRONMENT),
            make_step("proof", "proof.py", ["hello"], environment=EXAMPLE_ENVIRONMENT),
        ],
        {"proof.py": PROOF_SCRIPT},
    )
    _, run = await api("POST", "runs", body={"pipeline": "quickstart/test.orchest"})
    run = await finished_run(api, run["id"])
    assert run["state"] == "SUCCESS", [(s["title"], s["message"]) for s in run["steps"]]
    _, log = await api("GET", "runs", run["id"], "steps", "proof", "log")
    assert "container: True /project-dir /data" in log
    assert "from the notebook: hello from /project-dir" in log

    # JupyterLab gets a kernel in the same image.
    kernel_name = f"orchest-kernel-{EXAMPLE_ENVIRONMENT}"
    specs = json.loads((await jp_fetch("api", "kernelspecs")).body)["kernelspecs"]
    provisioner = specs[kernel_name]["spec"]["metadata"]["kernel_provisioner"]
    assert provisioner["config"]["image"] == build["reference"]

    status, _ = await api(
        "DELETE", "environments", EXAMPLE_ENVIRONMENT, params={"project": "quickstart"}
    )
    assert status == 204
    assert inspect_image(engine, build["reference"]) is None
