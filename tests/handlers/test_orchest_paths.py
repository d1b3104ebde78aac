"""An Orchest project that writes to /data and reads /project-dir, over REST on a real server
with the local backend (virtual environments): an interactive run and a job leave Orchest's
files in the project's data folder, and the machine's own /data is never touched."""

import asyncio
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_orchest.engine.executors import mount_namespace
from support import (
    DATA_PROJECT_OUTPUT,
    FINISHED_RUN_STATES,
    files_under,
    write_data_project,
)

ApiCall = Any

pytestmark = [
    pytest.mark.usefixtures("host_orchest_paths"),
    pytest.mark.skipif(bool(mount_namespace.unavailable()), reason=mount_namespace.unavailable()),
]


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_orchest": True}},
        # No cache: the job's steps run again rather than being restored.
        "OrchestApp": {
            "environment_backend": "local",
            "kernel_grace_period": 1.0,
            "cache_max_bytes": 0,
        },
    }


async def until(api: ApiCall, *path: str, done: str = "state", timeout: float = 300) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        status, body = await api("GET", *path)
        assert status == 200, body
        if body[done] in FINISHED_RUN_STATES:
            return body
        assert time.monotonic() < deadline, f"{'/'.join(path)} is still {body[done]}"
        await asyncio.sleep(0.2)


def messages(run: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(step["title"], step["state"], step["message"]) for step in run["steps"]]


async def test_an_interactive_run_and_a_job_write_to_the_data_folder(
    api: ApiCall, jp_root_dir: Path
) -> None:
    write_data_project(jp_root_dir / "project")
    data = jp_root_dir / "project" / "data"
    status, run = await api("POST", "runs", body={"pipeline": "project/test.orchest"})
    assert status == 201, run
    run = await until(api, "runs", run["id"])
    assert run["state"] == "SUCCESS", messages(run)
    assert files_under(data) == DATA_PROJECT_OUTPUT

    # A job's runs work on copies of the project, seen at /project-dir, and write to the
    # data folder the engine gives them (the project's, as in Orchest).
    shutil.rmtree(data)
    status, job = await api(
        "POST", "jobs", body={"pipeline_path": "project/test.orchest", "name": "Data job"}
    )
    assert status == 201, job
    job = await until(api, "jobs", job["id"], done="status")
    assert job["status"] == "SUCCESS", [messages(run) for run in job["runs"]]
    (job_run,) = job["runs"]
    assert Path(job_run["folder"]) != jp_root_dir / "project"
    assert files_under(data) == DATA_PROJECT_OUTPUT  # same.json: /project-dir is the copy


@pytest.fixture
def namespaces_off(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The server finds mount namespaces turned off, as on a machine without them."""
    monkeypatch.setenv(mount_namespace.SWITCH, "0")
    mount_namespace.unavailable.cache_clear()
    yield
    monkeypatch.undo()
    mount_namespace.unavailable.cache_clear()


@pytest.mark.usefixtures("namespaces_off")
async def test_without_namespaces_the_run_is_refused_saying_where(
    api: ApiCall, jp_root_dir: Path
) -> None:
    write_data_project(jp_root_dir / "project")
    status, run = await api("POST", "runs", body={"pipeline": "project/test.orchest"})
    assert status == 201, run
    run = await until(api, "runs", run["id"])
    assert run["state"] == "FAILURE"
    steps = {step["title"]: step["message"] for step in run["steps"]}
    assert steps["Fetch"].startswith("fetch.py uses /data or /project-dir")
    assert '  line 17: fetch_housing(data_home="/data")\n' in steps["Fetch"]
    assert "cell 2, line 1" in steps["Load"] and "line 2" in steps["Report"]
    assert not (jp_root_dir / "project" / "data").exists()
