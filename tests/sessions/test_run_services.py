"""Services of scope `noninteractive` in runs that are not interactive, without Docker: each
job run and each command-line run starts them as processes before its steps and stops them
when it ends; concurrent runs take turns for the same ports instead of colliding."""

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
from sessions.helpers import (
    PIPELINE,
    alive,
    descendants,
    free_port,
    service,
    session_in,
    write_pipeline,
)

from support import FINISHED_RUN_STATES, make_step

ApiCall = Any
JUPYTER = Path(sys.executable).parent / "jupyter"
FETCH = """\
import json, urllib.request
import orchest
print("services", sorted(orchest.get_services()), flush=True)
web = orchest.get_service("web")
with urllib.request.urlopen(web["internal_urls"][web["ports"][0]] + "test.orchest") as reply:
    served = json.load(reply)["parameters"]["n"]
print("mine", orchest.get_pipeline_param("n"), "served", served, flush=True)
"""


def http_server(name: str, port: int, scope: list[str] | None) -> dict[str, Any]:
    """A web server of the run's copy of the project, on localhost; `scope` None: Orchest's
    default (both)."""
    command = f"{sys.executable} -m http.server {port} --bind 127.0.0.1"
    keys = service(name, image="python:3.11-slim", command=command, ports=[port])
    if scope is None:
        del keys["scope"]
    else:
        keys["scope"] = scope
    return keys


def write(project: Path, services: dict[str, dict[str, Any]], **steps: str) -> None:
    """Steps that read services opt out of the cache, as steps reading a network should."""
    write_pipeline(
        project,
        [
            make_step(name, f"{name}.py", [], cache="orchest" not in source)
            for name, source in steps.items()
        ],
        {f"{name}.py": source for name, source in steps.items()},
        services=services,
        parameters={"n": 0},
    )


async def finished_job(api: ApiCall, job_id: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        _, job = await api("GET", "jobs", job_id)
        if job["status"] in FINISHED_RUN_STATES:
            return dict(job)
        assert time.monotonic() < deadline, f"job still {job['status']}: {job}"
        await asyncio.sleep(0.2)


async def log_of(api: ApiCall, run: dict[str, Any], step: str) -> str:
    _, text = await api("GET", "runs", run["id"], "steps", step, "log")
    return str(text)


def http_servers_on(port: int) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if "http.server" in cmdline and f" {port} " in f"{cmdline} ":
            found.append(process)
    return found


async def test_two_runs_of_a_job_at_once_each_reach_their_own_service_on_one_port(
    api: ApiCall, jp_root_dir: Path
) -> None:
    port, other = free_port(), free_port()
    write(
        jp_root_dir,
        {
            "web": http_server("web", port, ["noninteractive"]),
            "both": http_server("both", other, None),
            "ui": http_server("ui", free_port(), ["interactive"]),
        },
        fetch=FETCH,
    )
    before = descendants()
    status, job = await api(
        "POST", "jobs", body={"pipeline_path": PIPELINE, "parameters": {"pipeline": {"n": [1, 2]}}}
    )
    assert status == 201, job
    job = await finished_job(api, job["id"])

    assert job["status"] == "SUCCESS", job
    assert len(job["runs"]) == 2
    for run in job["runs"]:
        log = await log_of(api, run, "fetch")
        n = run["parameters"]["pipeline"]["n"]
        assert f"mine {n} served {n}" in log, log  # its own run's service, not the other's
        assert "services ['both', 'web']" in log, "interactive-only services are not started"
        run_dir = jp_root_dir / run["folder"] / ".orchest/pipelines/pipeline-1/runs" / run["id"]
        assert "GET /test.orchest" in (run_dir / "services" / "web.log").read_text()
    left = [" ".join(psutil.Process(pid).cmdline()) for pid in alive(descendants() - before)]
    assert [cmdline for cmdline in left if "http.server" in cmdline] == [], left


async def test_a_service_that_cannot_start_leaves_the_run_going_and_says_why(
    api: ApiCall, jp_root_dir: Path
) -> None:
    crash = f"{sys.executable} -c \"import sys; print('no database here'); sys.exit(3)\""
    db = service("db", image="postgres", command=crash, ports=[free_port()])
    write(
        jp_root_dir,
        {"db": {**db, "scope": ["noninteractive"]}},
        ask="import orchest\norchest.get_service('db')\n",
        other="print('not needing it')\n",
    )
    _, job = await api("POST", "jobs", body={"pipeline_path": PIPELINE})
    job = await finished_job(api, job["id"])
    [run] = job["runs"]
    states = {step["uuid"]: step["state"] for step in run["steps"]}
    assert states == {"ask": "FAILURE", "other": "COMPUTED"}, "the run went on, as Orchest's"
    ask = await log_of(api, run, "ask")
    assert "ServiceNotFound" in ask and "The service 'db' is not running" in ask, ask
    assert "exited with code 3" in ask and "no database here" in ask
    other = await log_of(api, run, "other")
    assert "The service 'db' is not running" in other and "not needing it" in other


async def test_a_port_an_interactive_session_holds_is_refused_to_a_job_run(
    api: ApiCall, jp_root_dir: Path
) -> None:
    port = free_port()
    write(jp_root_dir, {"web": http_server("web", port, None)}, fetch=FETCH)
    await api("POST", "pipeline-sessions", body={"pipeline_path": PIPELINE})
    session = await session_in(api, ("RUNNING",))
    assert session["services"][0]["state"] == "RUNNING"

    _, job = await api("POST", "jobs", body={"pipeline_path": PIPELINE})
    job = await finished_job(api, job["id"])
    log = await log_of(api, job["runs"][0], "fetch")
    assert f"Port {port} is used by the interactive session of 'test.orchest'" in log, log
    assert "stop that session, or give this service another port" in log
    await api("DELETE", "pipeline-sessions", PIPELINE)


SLOW = "import time\nprint('sleeping', flush=True)\ntime.sleep(300)\n"


async def job_sleeping(api: ApiCall) -> dict[str, Any]:
    """A job of the pipeline, once its run's step sleeps (its services running)."""
    _, job = await api("POST", "jobs", body={"pipeline_path": PIPELINE})
    deadline = time.monotonic() + 120
    while True:
        _, job = await api("GET", "jobs", job["id"])
        if job["runs"] and "sleeping" in await log_of(api, job["runs"][0], "slow"):
            return dict(job)
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.2)


async def test_a_cancelled_job_run_stops_its_services(api: ApiCall, jp_root_dir: Path) -> None:
    port = free_port()
    write(jp_root_dir, {"web": http_server("web", port, ["noninteractive"])}, slow=SLOW)
    job = await job_sleeping(api)
    assert http_servers_on(port) != []
    await api("POST", "jobs", job["id"], "cancel")
    deadline = time.monotonic() + 60
    while job["runs"][0]["state"] not in FINISHED_RUN_STATES or http_servers_on(port):
        assert time.monotonic() < deadline, (job, http_servers_on(port))
        await asyncio.sleep(0.2)
        _, job = await api("GET", "jobs", job["id"])
    assert job["status"] == "ABORTED" and job["runs"][0]["state"] == "ABORTED", job


async def test_the_server_stopping_stops_the_services_of_job_runs(
    api: ApiCall, jp_root_dir: Path, jp_serverapp: Any
) -> None:
    port = free_port()
    write(jp_root_dir, {"web": http_server("web", port, ["noninteractive"])}, slow=SLOW)
    before = descendants()
    await job_sleeping(api)
    assert http_servers_on(port) != []

    await jp_serverapp.extension_manager.stop_all_extensions()

    assert alive(descendants() - before) == set()
    assert http_servers_on(port) == []


def orchest_run(pipeline: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(JUPYTER), "orchest", "run", str(pipeline), *args, "--environment-backend", "none"],
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_a_command_line_run_starts_and_stops_its_services(tmp_path: Path) -> None:
    port = free_port()
    write(
        tmp_path,
        {
            "web": http_server("web", port, ["noninteractive"]),
            "ui": http_server("ui", free_port(), ["interactive"]),
        },
        fetch=FETCH,
    )
    done = orchest_run(tmp_path / PIPELINE, "--param", "n=7")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"service web RUNNING at http://localhost:{port}/" in done.stdout
    assert "service ui" not in done.stdout
    assert "service web STOPPED" in done.stdout
    assert http_servers_on(port) == []
    [run_dir] = (tmp_path / ".orchest/pipelines/pipeline-1/runs").iterdir()
    log = (run_dir / "logs").glob("*.log")
    text = "".join(path.read_text() for path in log)
    # The run's own parameter; the service serves the project's file as it is (n = 0).
    assert "mine 7 served 0" in text and "services ['web']" in text


def test_a_run_whose_steps_all_come_from_the_cache_starts_no_service(tmp_path: Path) -> None:
    port = free_port()
    write(tmp_path, {"web": http_server("web", port, None)}, plain="print('hello')\n")
    cache = ["--cache-dir", str(tmp_path / "cache")]
    first = orchest_run(tmp_path / PIPELINE, *cache)
    assert first.returncode == 0 and "service web RUNNING" in first.stdout, first.stdout
    again = orchest_run(tmp_path / PIPELINE, *cache)
    assert again.returncode == 0 and "(from the cache)" in again.stdout, again.stdout
    assert "service web" not in again.stdout
