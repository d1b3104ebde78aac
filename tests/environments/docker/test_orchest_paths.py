"""The same Orchest project, writing to /data and reading /project-dir, run in the
environment's containers (where Docker mounts both, as Orchest did) and on this machine
(where each step's mount namespace shows them): both leave the same files in the data
folder, also over REST and in a job with the Docker backend, and the machine's own /data is
never touched."""

import asyncio
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docker import DockerClient

from jupyter_orchest.engine.events import NoOpObserver, StepChanged
from jupyter_orchest.engine.executors import LocalExecutor, mount_namespace
from jupyter_orchest.engine.launch import RunLayout, prepare_run
from jupyter_orchest.engine.model import RunState, StepExecutor
from jupyter_orchest.engine.planning import RunType, plan_run
from jupyter_orchest.environments.docker import labels
from jupyter_orchest.pipeline import parse_definition
from support import DATA_PROJECT_OUTPUT, FINISHED_RUN_STATES, files_under, write_data_project

Built = Any  # the session's build: see conftest.Built
ApiCall = Any
Kit = Any

pytestmark = [
    pytest.mark.usefixtures("host_orchest_paths"),
    pytest.mark.skipif(bool(mount_namespace.unavailable()), reason=mount_namespace.unavailable()),
]


class Messages(NoOpObserver):
    def __init__(self) -> None:
        self.failures: list[str] = []

    def step_changed(self, event: StepChanged) -> None:
        if event.message:
            self.failures.append(f"{event.title}: {event.message}")


async def run(pipeline: Path, executor: StepExecutor) -> None:
    definition = parse_definition(pipeline.read_text())
    project = pipeline.parent
    messages = Messages()
    runner = prepare_run(
        definition=definition,
        plan=plan_run(definition, pipeline, RunType.ALL, None),
        layout=RunLayout.interactive(
            project, pipeline, definition["uuid"], "run", project / "data"
        ),
        executor=executor,
        observer=messages,
        parallelism=2,
    )
    await executor.start()
    try:
        assert await runner.run() == RunState.SUCCESS, messages.failures
    finally:
        await executor.shutdown()


async def test_in_containers_and_on_this_machine_the_same_files(built: Built) -> None:
    environment = built.environment.uuid
    in_docker = write_data_project(built.work / "orchest-paths-docker", environment)
    here = write_data_project(built.work / "orchest-paths-local", environment)
    await run(in_docker, built.backend.executor(built.built))
    await run(here, LocalExecutor(grace_period=1.0))
    assert files_under(in_docker.parent / "data") == DATA_PROJECT_OUTPUT
    assert files_under(here.parent / "data") == DATA_PROJECT_OUTPUT


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
            "cache_max_bytes": 0,  # the job's steps run again rather than being restored
        },
    }


@pytest.fixture
def project(jp_root_dir: Path, engine: DockerClient) -> Iterator[Path]:
    """The project; whatever images it got go at the end, passed or not."""
    folder = jp_root_dir / "project"
    write_data_project(folder)
    yield folder
    for image in engine.api.images(filters={"label": f"{labels.PROJECT_DIR}={folder}"}):
        engine.api.remove_image(image["Id"], force=True)


async def finished(api: ApiCall, *path: str, field: str = "state") -> Any:
    deadline = time.monotonic() + 600
    while True:
        _, body = await api("GET", *path)
        if body[field] in FINISHED_RUN_STATES:
            return body
        assert time.monotonic() < deadline, f"{'/'.join(path)} is still {body[field]}"
        await asyncio.sleep(0.2)


async def test_over_rest_and_in_a_job_with_the_docker_backend(
    project: Path,  # first: its images go once the server has stopped its containers
    api: ApiCall,
) -> None:
    status, run = await api("POST", "runs", body={"pipeline": "project/test.orchest"})
    assert status == 201, run
    run = await finished(api, "runs", run["id"])
    assert run["state"] == "SUCCESS", [(s["title"], s["message"]) for s in run["steps"]]
    assert files_under(project / "data") == DATA_PROJECT_OUTPUT

    shutil.rmtree(project / "data")
    status, job = await api("POST", "jobs", body={"pipeline_path": "project/test.orchest"})
    assert status == 201, job
    job = await finished(api, "jobs", job["id"], field="status")
    assert job["status"] == "SUCCESS", job
    assert files_under(project / "data") == DATA_PROJECT_OUTPUT

    # Deleting its environment stops its containers and removes its image.
    _, listed = await api("GET", "environments", params={"project": "project"})
    for environment in listed["environments"]:
        status, _ = await api(
            "DELETE", "environments", environment["uuid"], params={"project": "project"}
        )
        assert status == 204
