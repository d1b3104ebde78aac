"""Project and pipeline environment variables over REST, and what steps see in real runs:
the user's variables merged job > pipeline > project, Orchest's `ORCHEST_*` variables, and
secrets masked in everything the server keeps and streams (logs, events, provenance)."""

import ast
import asyncio
import json
import stat
import time
from pathlib import Path
from typing import Any

from sessions.helpers import events_until, notebook

from jupyter_orchest.projects.private import private_dir
from support import FINISHED_RUN_STATES, make_step, pipeline_writer

ApiCall = Any
SECRET = "tok-8f3a9c1e77d2"
REPORT = """\
import os
import orchest
names = ["A", "B", "ORCHEST_PROJECT_UUID", "ORCHEST_PIPELINE_UUID", "ORCHEST_PIPELINE_PATH",
         "ORCHEST_STEP_UUID", "ORCHEST_SESSION_UUID", "ORCHEST_SESSION_TYPE",
         "ORCHEST_JOB_UUID", "ORCHEST_JOB_RUN_NUMBER"]
print("seen", {name: os.environ.get(name) for name in names}, flush=True)
print("config", orchest.Config.PROJECT_UUID, orchest.Config.SESSION_TYPE, flush=True)
print("the token is", os.environ["TOKEN"][:5], end="", flush=True)
print(os.environ["TOKEN"][5:], "and that is all", flush=True)
"""
PIPELINE = "project/test.orchest"


async def wait_for(api: ApiCall, *path: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        _, found = await api("GET", *path)
        state = found.get("state") or found.get("status")
        if state in FINISHED_RUN_STATES:
            return dict(found)
        assert time.monotonic() < deadline, f"still {state}: {found}"
        await asyncio.sleep(0.1)


def write_project(root: Path) -> Path:
    project = root / "project"
    (project / ".orchest").mkdir(parents=True)
    pipeline_writer(project)(
        [
            make_step("script", "report.py", []),
            make_step("notebook", "report.ipynb", [], kernel={"name": "python3"}),
        ],
        {"report.py": REPORT, "report.ipynb": notebook([REPORT])},
        parameters={"n": 0},
    )
    return project


def seen(log: str) -> dict[str, Any]:
    line = next(line for line in log.splitlines() if line.startswith("seen "))
    return dict(ast.literal_eval(line[len("seen ") :]))  # the step printed a dict's repr


async def test_variables_are_read_and_replaced_over_rest_and_kept_private(
    api: ApiCall, jp_root_dir: Path
) -> None:
    project = write_project(jp_root_dir)
    pipeline_file = (project / "test.orchest").read_bytes()
    status, body = await api("GET", "env-variables", params={"pipeline": PIPELINE})
    assert status == 200
    assert body == {
        "project": "project",
        "project_env_variables": {},
        "pipeline_path": PIPELINE,
        "pipeline_uuid": "pipeline-1",
        "pipeline_env_variables": {},
    }
    status, body = await api(
        "PUT",
        "env-variables",
        params={"pipeline": PIPELINE},
        body={"project_env_variables": {"A": "project", "B": "project"}},
    )
    assert status == 200 and body["project_env_variables"] == {"A": "project", "B": "project"}
    status, body = await api(
        "PUT",
        "env-variables",
        params={"pipeline": PIPELINE},
        body={"pipeline_env_variables": {"A": "pipeline"}},
    )
    assert status == 200
    assert body["project_env_variables"] == {"A": "project", "B": "project"}, "kept"
    assert body["pipeline_env_variables"] == {"A": "pipeline"}
    status, body = await api("GET", "env-variables", params={"project": "project"})
    assert status == 200
    assert body == {"project": "project", "project_env_variables": {"A": "project", "B": "project"}}

    file = private_dir(project) / "env_variables.json"
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert (project / "test.orchest").read_bytes() == pipeline_file, "never in the pipeline file"


async def test_bad_requests_name_the_field_and_change_nothing(
    api: ApiCall, jp_root_dir: Path
) -> None:
    write_project(jp_root_dir)
    on_pipeline = {"pipeline": PIPELINE}
    cases = [
        (on_pipeline, {"pipeline_env_variables": {"1X": "a"}}, "pipeline_env_variables.1X"),
        (on_pipeline, {"project_env_variables": {"PATH": "/bin"}}, "project_env_variables.PATH"),
        (on_pipeline, {"project_env_variables": {"N": 3}}, "project_env_variables.N"),
        (on_pipeline, {"project_env_variables": ["A"]}, "project_env_variables"),
        (on_pipeline, {"env": {}}, "env"),
        ({"project": "project"}, {"pipeline_env_variables": {}}, "pipeline_env_variables"),
    ]
    for params, body, field in cases:
        status, answer = await api("PUT", "env-variables", params=params, body=body)
        assert status == 400, (body, answer)
        assert answer["field"] == field and f"`{field}`" in answer["message"], answer
    for params in ({}, {"pipeline": PIPELINE, "project": "project"}):
        status, answer = await api("GET", "env-variables", params=params)
        assert status == 400 and "either a pipeline" in answer["message"]
    status, answer = await api("GET", "env-variables", params={"pipeline": "project/no.orchest"})
    assert status == 404
    status, answer = await api("GET", "env-variables", params={"project": "../etc"})
    assert status == 400
    status, body = await api("GET", "env-variables", params=on_pipeline)
    assert body["project_env_variables"] == {} and body["pipeline_env_variables"] == {}


async def test_an_interactive_run_sees_orchests_variables_and_its_secrets_only_masked(
    api: ApiCall, jp_root_dir: Path, jp_ws_fetch: Any
) -> None:
    project = write_project(jp_root_dir)
    # Values under six characters are not masked (see `engine.masking`): these show the merge.
    variables = {"A": "prj", "B": "prj", "TOKEN": SECRET}
    await api(
        "PUT",
        "env-variables",
        params={"pipeline": PIPELINE},
        body={"project_env_variables": variables, "pipeline_env_variables": {"A": "ppl"}},
    )
    socket = await jp_ws_fetch("orchest", "api", "events")
    status, run = await api("POST", "runs", body={"pipeline": PIPELINE})
    assert status == 201, run
    events = await events_until(socket, lambda e: e["type"] == "run" and e["state"] == "SUCCESS")
    socket.close()
    run = await wait_for(api, "runs", run["id"])
    assert run["state"] == "SUCCESS", run

    uuid = json.loads((private_dir(project) / "project.json").read_text())["uuid"]
    for step in ("script", "notebook"):
        _, log = await api("GET", "runs", run["id"], "steps", step, "log")
        assert seen(log) == {
            "A": "ppl",
            "B": "prj",
            "ORCHEST_PROJECT_UUID": uuid,
            "ORCHEST_PIPELINE_UUID": "pipeline-1",
            "ORCHEST_PIPELINE_PATH": "test.orchest",
            "ORCHEST_STEP_UUID": step,
            "ORCHEST_SESSION_UUID": uuid[:18] + "pipeline-1",
            "ORCHEST_SESSION_TYPE": "interactive",
            "ORCHEST_JOB_UUID": None,
            "ORCHEST_JOB_RUN_NUMBER": None,
        }, log
        assert f"config {uuid} interactive" in log
        assert "the token is *** and that is all" in log, log
        assert SECRET not in log and SECRET[:5] + " " not in log
    written = (project / "report.ipynb").read_text()
    assert "the token is *** and that is all" in written and SECRET not in written
    streamed = "".join(e["text"] for e in events if e["type"] == "log")
    assert "the token is *** and that is all" in streamed and SECRET not in streamed

    _, record = await api("GET", "runs", run["id"], "steps", "script", "provenance")
    digests = record["key_parts"]["env_variables"]
    assert sorted(digests) == ["A", "B", "TOKEN"]
    assert all(len(digest) == 32 for digest in digests.values())
    assert SECRET not in json.dumps(record)
    assert "the token is ***" in record["executions"][0]["stdout"]

    # A changed variable is a reason to run again, said without its value.
    await api(
        "PUT",
        "env-variables",
        params={"pipeline": PIPELINE},
        body={"project_env_variables": {**variables, "TOKEN": SECRET + "-rotated"}},
    )
    _, again = await api("POST", "runs", body={"pipeline": PIPELINE})
    again = await wait_for(api, "runs", again["id"])
    script = next(step for step in again["steps"] if step["uuid"] == "script")
    assert not script["cached"] and script["reasons"] == ["environment variable `TOKEN` changed"]
    _, log = await api("GET", "runs", again["id"], "steps", "script", "log")
    assert "rotated" not in log and SECRET not in log


async def test_a_jobs_runs_see_the_job_over_the_pipeline_over_the_project(
    api: ApiCall, jp_root_dir: Path
) -> None:
    project = write_project(jp_root_dir)
    await api(
        "PUT",
        "env-variables",
        params={"pipeline": PIPELINE},
        body={
            "project_env_variables": {"A": "prj", "B": "prj", "TOKEN": SECRET},
            "pipeline_env_variables": {"A": "ppl", "B": "ppl"},
        },
    )
    status, job = await api(
        "POST",
        "jobs",
        body={
            "pipeline_path": PIPELINE,
            "env_variables": {"B": "job"},
            "parameters": {"pipeline": {"n": [1, 2]}},
        },
    )
    assert status == 201, job
    job = await wait_for(api, "jobs", job["id"], timeout=180)
    assert job["status"] == "SUCCESS", job
    uuid = json.loads((private_dir(project) / "project.json").read_text())["uuid"]
    numbers = set()
    for run in job["runs"]:
        _, log = await api("GET", "runs", run["id"], "steps", "script", "log")
        variables = seen(log)
        assert (variables["A"], variables["B"]) == ("ppl", "job")
        assert variables["ORCHEST_PROJECT_UUID"] == uuid, "the project's, not its copy's"
        assert variables["ORCHEST_SESSION_UUID"] == run["id"], "as Orchest: the run itself"
        assert variables["ORCHEST_SESSION_TYPE"] == "noninteractive"
        assert variables["ORCHEST_JOB_UUID"] == job["id"]
        numbers.add(variables["ORCHEST_JOB_RUN_NUMBER"])
        assert "the token is *** and that is all" in log
    assert numbers == {str(run["number"]) for run in job["runs"]} and len(numbers) == 2
    # The secret is nowhere in the job's folder: not in its snapshot, not in its runs' files.
    for file in (project / ".orchest" / "jobs").rglob("*"):
        if file.is_file():
            assert SECRET.encode() not in file.read_bytes(), file
