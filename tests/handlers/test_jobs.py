"""Jobs through the REST API, against a real server, with the example project's real steps,
recorded in SQLite and in PostgreSQL."""

import asyncio
import json
import shutil
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

from support import (
    EXAMPLE_PROJECT,
    FINISHED_RUN_STATES,
    make_step,
    pipeline_writer,
    with_database,
)

ApiCall = Any


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], database_url: str) -> dict[str, Any]:
    return with_database(jp_server_config, database_url)


CLEAN = "a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d"


async def wait_for_job(api: ApiCall, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, job = await api("GET", "jobs", job_id)
        assert status == 200
        if job["status"] in FINISHED_RUN_STATES:
            return dict(job)
        assert time.monotonic() < deadline, f"job still {job['status']}: {job}"
        await asyncio.sleep(0.2)


async def test_a_parameter_sweep_of_the_example_runs_each_combination_on_its_own_copy(
    api: ApiCall, jp_root_dir: Path
) -> None:
    project = jp_root_dir / "quickstart"
    shutil.copytree(EXAMPLE_PROJECT, project)
    before = {path: path.read_bytes() for path in project.rglob("*") if path.is_file()}

    status, job = await api(
        "POST",
        "jobs",
        body={
            "pipeline_path": "quickstart/quickstart.orchest",
            "name": "Sweep",
            "parameters": {"pipeline": {"n_rows": [50, 100]}, "steps": {CLEAN: {"low": [0, 10]}}},
        },
    )
    assert status == 201, job
    job = await wait_for_job(api, job["id"])

    assert job["status"] == "SUCCESS", job
    assert len(job["runs"]) == 4
    for run in job["runs"]:
        assert run["state"] == "SUCCESS" and run["type"] == "job"
        # Each step says whether it came from the cache, and if not, why it ran.
        for step in run["steps"]:
            assert isinstance(step["cached"], bool)
            assert step["cached"] or step["reasons"], step
        status, log = await api("GET", "runs", run["id"], "steps", CLEAN, "log")
        low = run["parameters"]["steps"][CLEAN]["low"]
        assert f"in [{low}, 35]" in log
        # The notebooks of each run keep the outputs that run wrote, readable afterwards.
        status, notebook = await api(
            "GET", "jobs", job["id"], "runs", run["id"], "files", "summarize.ipynb"
        )
        assert status == 200
        cells = nbformat.reads(json.dumps(notebook), as_version=4).cells
        assert any(cell.get("outputs") for cell in cells if cell.cell_type == "code")
    # The user's own project is untouched.
    assert {
        path: path.read_bytes()
        for path in project.rglob("*")
        # The job's folder, and the project's uuid in its private folder, are new.
        if path.is_file()
        and not any(new in str(path) for new in (".orchest/jobs", ".orchest/private"))
    } == before


async def test_bad_jobs_are_refused_with_clear_messages(api: ApiCall, jp_root_dir: Path) -> None:
    shutil.copytree(EXAMPLE_PROJECT, jp_root_dir / "quickstart")
    pipeline = "quickstart/quickstart.orchest"

    status, body = await api("POST", "jobs", body={"pipeline_path": pipeline, "cron": "99 * * * *"})
    assert status == 400 and "not a valid cron schedule" in body["message"]
    status, body = await api(
        "POST", "jobs", body={"pipeline_path": pipeline, "parameters": {"pipeline": {"n_rows": 5}}}
    )
    assert status == 400 and "must be a list" in body["message"]
    status, body = await api("POST", "jobs", body={"pipeline_path": "quickstart/missing.orchest"})
    assert status == 404
    status, body = await api("GET", "jobs")
    assert body == {"jobs": []}


async def test_a_scheduled_job_can_be_paused_resumed_and_cancelled(
    api: ApiCall, jp_root_dir: Path
) -> None:
    shutil.copytree(EXAMPLE_PROJECT, jp_root_dir / "quickstart")
    status, job = await api(
        "POST",
        "jobs",
        body={
            "pipeline_path": "quickstart/quickstart.orchest",
            "cron": "0 6 * * 1-5",
            "timezone": "Europe/Paris",
        },
    )
    assert status == 201 and job["status"] == "PENDING" and job["runs"] == []
    assert len(job["next_runs_at"]) == 5

    for action, expected in [("pause", "PAUSED"), ("resume", "PENDING"), ("cancel", "ABORTED")]:
        status, job = await api("POST", "jobs", job["id"], action, body={})
        assert (status, job["status"]) == (200, expected)
    status, body = await api("POST", "jobs", job["id"], "resume", body={})
    assert status == 409 and "not paused" in body["message"]


async def test_the_schedule_preview_shows_the_next_slots_in_the_schedules_zone(
    api: ApiCall,
) -> None:
    status, body = await api(
        "GET", "schedules", "preview", params={"cron": "30 6 * * *", "timezone": "Asia/Tokyo"}
    )
    assert status == 200 and len(body["next"]) == 5
    assert all(slot.endswith("T06:30:00+09:00") for slot in body["next"])
    status, body = await api("GET", "schedules", "preview", params={"cron": "nope"})
    assert status == 400 and "not a valid cron schedule" in body["message"]


async def test_a_new_job_starts_from_the_pipelines_parameters_file(
    api: ApiCall, jp_root_dir: Path
) -> None:
    project = jp_root_dir / "quickstart"
    shutil.copytree(EXAMPLE_PROJECT, project)
    (project / "quickstart.parameters.json").write_text(
        json.dumps({"pipeline_parameters": {"n_rows": [10, 1000]}})
    )

    status, defaults = await api(
        "GET", "job-defaults", params={"pipeline": "quickstart/quickstart.orchest"}
    )

    assert status == 200 and defaults["name"] == "Quickstart"
    assert defaults["parameters"]["pipeline"] == {"n_rows": [10, 1000]}
    assert defaults["parameters"]["steps"][CLEAN] == {"low": [5], "high": [35]}


MAKE = """\
import json, orchest
n = orchest.get_pipeline_param("n")
with open("result.json", "w") as f:
    json.dump({"n": n}, f)
orchest.output(n, name="n")
"""
CHECK = """\
import orchest
k = orchest.get_step_param("k")
with open("check.txt", "w") as f:
    f.write(f"{orchest.get_inputs()['n'] * k}")
"""


async def test_a_job_run_again_restores_every_steps_files_into_each_run_folder(
    api: ApiCall, jp_root_dir: Path
) -> None:
    project = jp_root_dir / "project"
    (project / ".orchest").mkdir(parents=True)
    pipeline_writer(project)(
        [
            make_step("make", "make.py", []),
            make_step("check", "check.py", ["make"], parameters={"k": 1}),
        ],
        {"make.py": MAKE, "check.py": CHECK},
        parameters={"n": 0},
    )
    body = {
        "pipeline_path": "project/test.orchest",
        "name": "Sweep",
        "parameters": {"pipeline": {"n": [2, 3]}, "steps": {"check": {"k": [10, 100]}}},
    }

    async def sweep() -> dict[str, Any]:
        status, job = await api("POST", "jobs", body=body)
        assert status == 201, job
        job = await wait_for_job(api, job["id"])
        assert job["status"] == "SUCCESS", job
        assert len(job["runs"]) == 4
        return job

    first = await sweep()
    second = await sweep()
    for run in second["runs"]:
        assert [step["cached"] for step in run["steps"]] == [True, True], run
        n = run["parameters"]["pipeline"]["n"]
        k = run["parameters"]["steps"]["check"]["k"]
        for path, expected in (("result.json", {"n": n}), ("check.txt", n * k)):
            status, text = await api("GET", "jobs", second["id"], "runs", run["id"], "files", path)
            assert (status, text) == (200, expected), (path, run["parameters"])
    # The first job's run folders kept their own files too.
    for run in first["runs"]:
        folder = jp_root_dir / run["folder"]
        assert (folder / "check.txt").is_file() and (folder / "result.json").is_file()
