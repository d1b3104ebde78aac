"""Services as processes (no Docker): started with the session, reached by steps through
`orchest.get_service`, reported when they fail or cannot run, stopped with the session."""

import sys
from pathlib import Path
from typing import Any

import psutil
from sessions.helpers import (
    PIPELINE,
    alive,
    descendants,
    finished_run,
    free_port,
    service,
    session_in,
    step_log,
    until,
    write_pipeline,
)

from support import make_step

ApiCall = Any
FETCH = """\
import urllib.request
import orchest
web = orchest.get_service("web")
print("hostname", web["internal_hostname"])
with urllib.request.urlopen(web["internal_urls"][web["ports"][0]], timeout=10) as reply:
    print("fetched", reply.read().decode())
"""


def web_service(port: int) -> dict[str, Any]:
    """A web server serving the project folder, on localhost only."""
    command = f"{sys.executable} -m http.server {port} --bind 127.0.0.1"
    return service("web", image="python:3.11-slim", command=command, ports=[port])


def running(name: str) -> Any:
    def check(session: dict[str, Any]) -> bool:
        states = {s["name"]: s["state"] for s in session["services"]}
        return session["state"] == "RUNNING" and states.get(name) in ("RUNNING", "FAILED")

    return check


async def test_a_step_reaches_a_service_process_by_get_service(
    api: ApiCall, jp_root_dir: Path
) -> None:
    port = free_port()
    (jp_root_dir / "index.txt").write_text("served by the session")
    write_pipeline(
        jp_root_dir,
        [make_step("fetch", "fetch.py", [])],
        {"fetch.py": FETCH},
        services={"web": web_service(port)},
    )
    before = descendants()
    status, started = await api("POST", "pipeline-sessions", body={"pipeline_path": PIPELINE})
    assert status == 201
    assert started["services"] == [
        {
            "name": "web",
            "image": "python:3.11-slim",
            "command": web_service(port)["command"],
            "scope": ["interactive"],
            "state": "STARTING",
            "message": "",
            "urls": [],
        }
    ]
    session = await until(api, running("web"))
    web = session["services"][0]
    assert web["state"] == "RUNNING" and web["message"] == "", web
    assert web["urls"] == [f"http://localhost:{port}/"]
    server = alive(descendants() - before)
    assert any("http.server" in " ".join(psutil.Process(p).cmdline()) for p in server)

    _, run = await api("POST", "runs", body={"pipeline": PIPELINE})
    run = await finished_run(api, run["id"])
    log = await step_log(api, run)
    assert run["state"] == "SUCCESS", log
    assert "hostname localhost" in log and "index.txt" in log

    await api("DELETE", "pipeline-sessions", PIPELINE)
    assert alive(descendants() - before) == set()
    served_log = jp_root_dir / ".orchest/sessions/pipeline-1/services/web.log"
    assert "GET / " in served_log.read_text()


async def test_a_service_that_exits_is_failed_with_its_output_and_the_session_runs_on(
    api: ApiCall, jp_root_dir: Path
) -> None:
    crash = f"{sys.executable} -c \"import sys; print('no database here'); sys.exit(3)\""
    write_pipeline(
        jp_root_dir,
        [make_step("ask", "ask.py", [])],
        {"ask.py": "import orchest\norchest.get_service('db')\n"},
        services={"db": service("db", image="postgres", command=crash, ports=[free_port()])},
    )
    await api("POST", "pipeline-sessions", body={"pipeline_path": PIPELINE})
    session = await until(api, lambda s: s["services"][0]["state"] == "FAILED")
    db = session["services"][0]
    assert "exited with code 3" in db["message"] and "no database here" in db["message"]
    assert db["urls"] == []
    session = await session_in(api, ("RUNNING",))
    assert session["services"][0]["state"] == "FAILED"

    # Its steps are told it is not there.
    _, run = await api("POST", "runs", body={"pipeline": PIPELINE})
    run = await finished_run(api, run["id"])
    log = await step_log(api, run)
    assert run["state"] == "FAILURE"
    assert "ServiceNotFound" in log and "'db'" in log, log
    await api("DELETE", "pipeline-sessions", PIPELINE)


async def test_services_that_cannot_run_here_are_failed_with_a_clear_message(
    api: ApiCall, jp_root_dir: Path
) -> None:
    services = {
        "redis": service("redis", image="redis"),
        "etc": service("etc", image="x", command="true", binds={"/etc": "/host-etc"}),
        "Bad_Name": service("Bad_Name", image="x", command="true"),
        "quotes": service("quotes", image="x", command="echo 'unclosed"),
        "missing": service("missing", image="x", command="no-such-command-here --flag"),
        "later": service("later", image="x", command="true", scope=["noninteractive"]),
    }
    write_pipeline(jp_root_dir, [make_step("a", "a.py", [])], {"a.py": ""}, services=services)
    await api("POST", "pipeline-sessions", body={"pipeline_path": PIPELINE})
    session = await until(
        api,
        lambda s: s["state"] == "RUNNING" and all(v["state"] == "FAILED" for v in s["services"]),
    )
    messages = {s["name"]: s["message"] for s in session["services"]}
    assert set(messages) == {"redis", "etc", "Bad_Name", "quotes", "missing"}, "interactive only"
    assert "only an image" in messages["redis"] and "Docker" in messages["redis"]
    assert "/etc" in messages["etc"] and "/data" in messages["etc"]
    assert "/project-dir" in messages["etc"]
    assert "lower-case" in messages["Bad_Name"]
    assert "quotation" in messages["quotes"]
    assert "no-such-command-here" in messages["missing"]
    await api("DELETE", "pipeline-sessions", PIPELINE)


async def test_a_session_stopped_while_it_launches_leaves_nothing(
    api: ApiCall, jp_root_dir: Path
) -> None:
    # A service that never answers on its port keeps the session launching.
    mute = service("mute", image="x", command=f"{sys.executable} -c 'import time; time.sleep(300)'")
    write_pipeline(jp_root_dir, [], {}, services={"mute": {**mute, "ports": [free_port()]}})
    before = descendants()
    await api("POST", "pipeline-sessions", body={"pipeline_path": PIPELINE})
    await until(api, lambda _: alive(descendants() - before) != set())
    assert (await session_in(api, ("LAUNCHING",)))["services"][0]["state"] == "STARTING"

    status, _ = await api("DELETE", "pipeline-sessions", PIPELINE)
    assert status == 204
    assert alive(descendants() - before) == set()
    assert (await api("GET", "pipeline-sessions", PIPELINE))[0] == 404


async def test_a_run_of_a_pipeline_with_services_starts_its_session(
    api: ApiCall, jp_root_dir: Path
) -> None:
    port = free_port()
    write_pipeline(
        jp_root_dir,
        [make_step("fetch", "fetch.py", [])],
        {"fetch.py": FETCH},
        services={"web": web_service(port)},
    )
    _, run = await api("POST", "runs", body={"pipeline": PIPELINE})
    run = await finished_run(api, run["id"])
    log = await step_log(api, run)
    assert run["state"] == "SUCCESS", log
    assert "fetched" in log
    session = await session_in(api, ("RUNNING",))
    assert session["services"][0]["state"] == "RUNNING"
    await api("DELETE", "pipeline-sessions", PIPELINE)


async def test_the_server_stopping_stops_every_session(
    api: ApiCall, jp_root_dir: Path, jp_serverapp: Any
) -> None:
    port = free_port()
    project = jp_root_dir / "project"
    write_pipeline(
        project,
        [make_step("slow", "slow.py", [])],
        {"slow.py": "import time\nprint('sleeping', flush=True)\ntime.sleep(300)\n"},
        services={"web": web_service(port)},
    )
    write_pipeline(jp_root_dir, [make_step("a", "a.py", [])], {"a.py": ""})
    before = descendants()
    for path in ("project/test.orchest", PIPELINE):
        await api("POST", "pipeline-sessions", body={"pipeline_path": path})
    await until(api, running("web"), path="project/test.orchest")
    _, run = await api("POST", "runs", body={"pipeline": "project/test.orchest"})
    while "sleeping" not in await step_log(api, run):
        await session_in(api, ("RUNNING",), path="project/test.orchest")

    await jp_serverapp.extension_manager.stop_all_extensions()

    left = alive(descendants() - before)
    assert left == set(), [psutil.Process(p).cmdline() for p in left]
    assert (await api("GET", "pipeline-sessions"))[1] == {"sessions": []}
    _, run = await api("GET", "runs", run["id"])
    assert run["state"] == "ABORTED"
