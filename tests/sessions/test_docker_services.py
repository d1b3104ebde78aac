"""Services as containers (`environment_backend = "docker"`): on a network of the session's,
reached by name from steps in containers (a script, and a notebook's kernel), published on
127.0.0.1, reported when they cannot start or end, and gone with the session, network and all.

Like the other Docker tests, these skip when no engine answers or the base image is missing,
unless JUPYTER_ORCHEST_REQUIRE_DOCKER=1.
"""

import contextlib
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from docker import DockerClient
from sessions.helpers import (
    PIPELINE,
    events_until,
    finished_run,
    notebook,
    service,
    step_log,
    until,
    write_pipeline,
)

from jupyter_orchest.environments.definition import create_environment
from jupyter_orchest.environments.docker import labels
from jupyter_orchest.environments.docker.engine import check_engine, inspect_image
from jupyter_orchest.environments.model import BackendUnavailable
from support import make_step

ApiCall = Any
BASE_IMAGE = os.environ.get("JUPYTER_ORCHEST_TEST_BASE_IMAGE", "jupyter-orchest/base:bookworm")
REQUIRED = os.environ.get("JUPYTER_ORCHEST_REQUIRE_DOCKER") == "1"
FETCH = """\
import urllib.request
import orchest
web = orchest.get_service("web")
url = f"http://{web['internal_hostname']}:8000/"
with urllib.request.urlopen(url, timeout=20) as reply:
    print("fetched", url, reply.read().decode())
"""


@pytest.fixture(scope="module")
def engine() -> Iterator[DockerClient]:
    try:
        check_engine()
    except BackendUnavailable as error:
        _unavailable(f"Docker tests need a Docker engine: {error}")
    client = docker.from_env()
    if inspect_image(client, BASE_IMAGE) is None:
        _unavailable(f"Docker tests need the base image {BASE_IMAGE} (`make docker-base-image`)")
    yield client
    client.close()


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (JUPYTER_ORCHEST_REQUIRE_DOCKER=1)")
    pytest.skip(reason)


@pytest.fixture
def jp_server_config(engine: DockerClient) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_orchest": True}},
        "OrchestApp": {
            "environment_backend": "docker",
            "base_images": {"orchest/base-kernel-py": BASE_IMAGE},
            "kernel_grace_period": 1.0,
        },
    }


@pytest.fixture
def project(jp_root_dir: Path, engine: DockerClient) -> Iterator[Path]:
    """The server's root as the project; the images built for it go at the end."""
    yield jp_root_dir
    for image in engine.api.images(filters={"label": f"{labels.PROJECT_DIR}={jp_root_dir}"}):
        engine.api.remove_image(image["Id"], force=True)


def ours(engine: DockerClient) -> tuple[list[str], list[str]]:
    """The containers and networks this test process owns."""
    owner = f"{labels.OWNER}={labels.owner()}"
    containers = engine.api.containers(all=True, quiet=True, filters={"label": owner})
    networks = engine.api.networks(filters={"label": owner})
    return [c["Id"] for c in containers], [n["Name"] for n in networks]


async def test_steps_reach_a_service_container_by_name_and_all_goes_with_the_session(
    api: ApiCall, project: Path, engine: DockerClient, jp_ws_fetch: Any
) -> None:
    environment = create_environment(project, name="Docker", setup_script="echo ready\n")
    (project / "index.txt").write_text("served from the project")
    web = service(
        "web",
        image=BASE_IMAGE,
        command="python3 -m http.server 8000",
        args="--directory /srv/project",
        binds={"/project-dir": "/srv/project"},
        ports=[8000],
    )
    write_pipeline(
        project,
        [
            make_step("script", "fetch.py", [], environment=environment.uuid),
            make_step("notebook", "fetch.ipynb", [], environment=environment.uuid),
        ],
        {"fetch.py": FETCH, "fetch.ipynb": notebook([FETCH])},
        services={"web": web},
    )
    assert ours(engine) == ([], [])
    socket = await jp_ws_fetch("orchest", "api", "events")
    status, _ = await api("POST", "pipeline-sessions", body={"pipeline_path": PIPELINE})
    assert status == 201
    events = await events_until(
        socket, lambda e: e["type"] == "session" and e["session"]["state"] == "RUNNING", 600
    )
    socket.close()
    environment_states = [
        session["environments"][0]["state"]
        for session in (e["session"] for e in events if e["type"] == "session")
        if session["environments"]
    ]
    assert environment_states[0] == "BUILDING" and environment_states[-1] == "READY"
    session = await until(
        api,
        lambda s: s["state"] == "RUNNING" and s["environments"][0]["kernels"] >= 1,
        timeout=600,
    )
    assert session["environments"][0]["state"] == "READY", session
    running = session["services"][0]
    assert running["state"] == "RUNNING" and running["message"] == "", running
    [url] = running["urls"]
    assert url.startswith("http://127.0.0.1:") and not url.endswith(":8000/")
    with urllib.request.urlopen(url, timeout=20) as reply:  # from the browser's side
        assert "index.txt" in reply.read().decode()
    containers, networks = ours(engine)
    assert len(networks) == 1 and len(containers) >= 2, "the service and the kernels"

    _, run = await api("POST", "runs", body={"pipeline": PIPELINE})
    run = await finished_run(api, run["id"], timeout=300)
    logs = [await step_log(api, run, index) for index in range(2)]
    assert run["state"] == "SUCCESS", logs
    for log in logs:
        assert "fetched http://web:8000/" in log and "index.txt" in log, log

    status, _ = await api("DELETE", "pipeline-sessions", PIPELINE)
    assert status == 204
    assert ours(engine) == ([], [])


async def test_environments_and_service_containers_that_fail_are_reported_clearly(
    api: ApiCall, project: Path, engine: DockerClient
) -> None:
    crash = "python3 -c \"import sys; print('bye from the service'); sys.exit(4)\""
    services = {
        "ghost": service("ghost", image="jupyter-orchest/no-such-image:1"),
        "crash": service("crash", image=BASE_IMAGE, command=crash),
        "etc": service("etc", image=BASE_IMAGE, binds={"/etc": "/host-etc"}),
        "blank": service("blank", image=""),
    }
    broken = create_environment(project, name="Broken", setup_script="echo no way; exit 3\n")
    write_pipeline(
        project,
        [make_step("a", "a.py", [], environment=broken.uuid)],
        {"a.py": ""},
        services=services,
    )
    await api("POST", "pipeline-sessions", body={"pipeline_path": PIPELINE})
    session = await until(
        api,
        lambda s: s["state"] == "RUNNING" and all(v["state"] == "FAILED" for v in s["services"]),
        timeout=300,
    )
    [environment] = session["environments"]
    assert environment["name"] == "Broken" and environment["state"] == "FAILED"
    assert "could not be built" in environment["message"], environment
    messages = {s["name"]: s["message"] for s in session["services"]}
    assert "no-such-image" in messages["ghost"] and "not pulled" in messages["ghost"]
    assert "exited with code 4" in messages["crash"]
    assert "bye from the service" in messages["crash"]
    assert "/etc" in messages["etc"] and "/project-dir" in messages["etc"]
    assert "no image" in messages["blank"]
    await api("DELETE", "pipeline-sessions", PIPELINE)
    assert ours(engine) == ([], [])


async def test_a_session_removes_what_a_dead_server_left(
    api: ApiCall, project: Path, engine: DockerClient
) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    owner = {labels.OWNER: f"{labels.owner().rpartition(':')[0]}:{dead.stdout.strip()}"}
    network = engine.api.create_network("jupyter-orchest-left-behind", labels=owner)
    container = engine.api.create_container(
        BASE_IMAGE,
        ["sleep", "600"],
        labels=owner,
        host_config=engine.api.create_host_config(network_mode="jupyter-orchest-left-behind"),
    )
    try:
        write_pipeline(project, [], {}, services={"crash": service("crash", image=BASE_IMAGE)})
        await api("POST", "pipeline-sessions", body={"pipeline_path": PIPELINE})
        await until(api, lambda s: s["state"] == "RUNNING", timeout=120)
        assert engine.api.containers(all=True, filters={"id": container["Id"]}) == []
        assert engine.api.networks(ids=[network["Id"]]) == []
        await api("DELETE", "pipeline-sessions", PIPELINE)
    finally:
        for remove in (
            lambda: engine.api.remove_container(container["Id"], force=True),
            lambda: engine.api.remove_network(network["Id"]),
        ):
            with contextlib.suppress(docker.errors.NotFound):
                remove()


# Runs that are not interactive: each has a session, and a network, of its own.

FETCH_OWN = """\
import json, urllib.request
import orchest
web = orchest.get_service("web")
with urllib.request.urlopen(f"http://{web['internal_hostname']}:8000/test.orchest") as reply:
    served = json.load(reply)["parameters"]["n"]
print("mine", orchest.get_pipeline_param("n"), "served", served, flush=True)
"""


def run_web(scope: list[str]) -> dict[str, Any]:
    """A web server of the run's copy of the project, on port 8000 of its network."""
    return service(
        "web",
        image=BASE_IMAGE,
        command="python3 -m http.server 8000",
        args="--directory /srv/project",
        binds={"/project-dir": "/srv/project"},
        ports=[8000],
        scope=scope,
    )


def write_fetching(project: Path, environment: str) -> None:
    write_pipeline(
        project,
        [make_step("fetch", "fetch.py", [], environment=environment, cache=False)],
        {"fetch.py": FETCH_OWN},
        services={"web": run_web(["noninteractive"]), "ui": run_web(["interactive"])},
        parameters={"n": 0},
    )


async def test_two_runs_of_a_job_at_once_each_have_their_own_services_network(
    api: ApiCall, project: Path, engine: DockerClient
) -> None:
    environment = create_environment(project, name="Docker", setup_script="echo ready\n")
    write_fetching(project, environment.uuid)
    status, job = await api(
        "POST", "jobs", body={"pipeline_path": PIPELINE, "parameters": {"pipeline": {"n": [1, 2]}}}
    )
    assert status == 201, job
    seen_networks: set[str] = set()
    while job["status"] not in ("SUCCESS", "FAILURE", "ABORTED"):
        seen_networks |= set(ours(engine)[1])
        _, job = await api("GET", "jobs", job["id"])
    assert job["status"] == "SUCCESS", job
    for run in job["runs"]:
        _, log = await api("GET", "runs", run["id"], "steps", "fetch", "log")
        n = run["parameters"]["pipeline"]["n"]
        assert f"mine {n} served {n}" in log, log  # its own run's web, both on port 8000
    assert len(seen_networks) == 2, "a network of each run's own"
    assert ours(engine) == ([], []), "containers and networks gone with the runs"


def test_a_command_line_run_in_docker_starts_and_removes_its_services(
    project: Path, engine: DockerClient
) -> None:
    environment = create_environment(
        project, name="Docker", base_image=BASE_IMAGE, setup_script="echo ready\n"
    )
    write_fetching(project, environment.uuid)
    command = [
        str(Path(sys.executable).parent / "jupyter"),
        "orchest",
        "run",
        str(project / PIPELINE),
        "--param",
        "n=5",
        "--environment-backend",
        "docker",
        "--database-url",
        f"sqlite:///{project / 'orchest.db'}",
        "--cache-dir",
        str(project / "cache"),
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as cli:
        output, _ = cli.communicate(timeout=900)
    assert cli.returncode == 0, output
    assert "service web RUNNING at http://127.0.0.1:" in output
    assert "service web STOPPED" in output and "service ui" not in output
    [log] = (project / ".orchest/pipelines/pipeline-1/runs").glob("*/logs/fetch.log")
    assert "mine 5 served 0" in log.read_text()
    its = {"label": f"{labels.OWNER}={labels.owner().rpartition(':')[0]}:{cli.pid}"}
    assert engine.api.containers(all=True, filters=its) == []
    assert engine.api.networks(filters=its) == []
