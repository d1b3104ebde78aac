"""Environments over the REST API and the event WebSocket, against a real server that builds
real local virtual environments."""

import asyncio
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import AsyncKernelManager

from support import EXAMPLE_PROJECT, FINISHED_RUN_STATES, make_step, pipeline_writer

ApiCall = Any
EXAMPLE_ENVIRONMENT = "3d9c6b0e-7f1a-4c55-9d3e-2b8f6a1c4e70"
FINISHED_BUILD_STATES = ("SUCCESS", "FAILURE", "ABORTED")


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_orchest": True}},
        "OrchestApp": {"environment_backend": "local"},
    }


async def wait_until(check: Any, what: str, timeout: float = 120) -> Any:
    """Poll `check` (async, returning a value or None) until it returns a value."""
    deadline = time.monotonic() + timeout
    while (value := await check()) is None:
        assert time.monotonic() < deadline, f"still waiting for {what}"
        await asyncio.sleep(0.1)
    return value


async def finished_build(api: ApiCall, project: str, uuid: str, number: int) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        status, build = await api(
            "GET", "environments", uuid, "builds", str(number), params={"project": project}
        )
        assert status == 200, build
        return build if build["state"] in FINISHED_BUILD_STATES else None

    build: dict[str, Any] = await wait_until(check, f"build {number}")
    return build


async def finished_run(api: ApiCall, run_id: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        _, run = await api("GET", "runs", run_id)
        return run if run["state"] in FINISHED_RUN_STATES else None

    run: dict[str, Any] = await wait_until(check, f"run {run_id}")
    return run


async def test_environments_are_listed_created_edited_and_deleted(
    api: ApiCall, jp_root_dir: Path
) -> None:
    (jp_root_dir / "proj").mkdir()
    project = {"project": "proj"}
    status, listing = await api("GET", "environments", params=project)
    assert status == 200 and listing["problems"] == []
    (default,) = listing["environments"]
    assert (default["name"], default["language"], default["base_image"]) == (
        "Python 3",
        "python",
        "orchest/base-kernel-py",
    )
    assert default["kernel_name"] == f"orchest-kernel-{default['uuid']}"
    assert default["built"] is False and default["latest_build"] is None
    assert default["project"] == "proj"

    body = {"name": "Tools", "setup_script": "pip install termcolor\n", "gpu_support": True}
    status, tools = await api("POST", "environments", params=project, body=body)
    assert status == 201 and tools["setup_script"] == body["setup_script"]
    folder = jp_root_dir / "proj" / ".orchest" / "environments" / tools["uuid"]
    assert json.loads((folder / "properties.json").read_text())["gpu_support"] is True

    _, listing = await api("GET", "environments", params=project)
    assert [e["name"] for e in listing["environments"]] == ["Python 3", "Tools"]

    status, renamed = await api(
        "PUT", "environments", tools["uuid"], params=project, body={"name": "Kit"}
    )
    assert status == 200 and renamed["name"] == "Kit"
    assert json.loads((folder / "properties.json").read_text())["name"] == "Kit"

    refusals = [
        ("PUT", tools["uuid"], {"colour": "red"}, 400, "Unknown properties: colour"),
        ("PUT", tools["uuid"], {"language": "cobol"}, 400, "`language` must be one of"),
        ("PUT", tools["uuid"], {"name": ""}, 400, "needs a name"),
        ("POST", None, {"language": "r"}, 400, "needs a name"),
        ("GET", "nope", None, 404, 'has no environment "nope"'),
    ]
    for method, uuid, request, code, said in refusals:
        parts = ("environments", uuid) if uuid else ("environments",)
        status, reply = await api(method, *parts, params=project, body=request)
        assert (status, said in reply["message"]) == (code, True), (method, request, reply)
    status, reply = await api("GET", "environments", params={"project": "../elsewhere"})
    assert status == 400 and "'..'" in reply["message"]
    status, reply = await api("GET", "environments", params={"project": "missing"})
    assert status == 404

    (folder / "properties.json").write_text("{ not json")
    status, reply = await api("GET", "environments", tools["uuid"], params=project)
    assert status == 409
    assert f"proj/.orchest/environments/{tools['uuid']}/properties.json" in reply["message"]
    _, listing = await api("GET", "environments", params=project)
    assert [p["uuid"] for p in listing["problems"]] == [tools["uuid"]]

    status, _ = await api("DELETE", "environments", default["uuid"], params=project)
    assert status == 204
    assert not (folder.parent / default["uuid"]).exists()
    status, _ = await api("GET", "environments", default["uuid"], params=project)
    assert status == 404


async def kernel_prefix(serverapp: Any, kernel_name: str) -> str:
    """`sys.prefix` in a kernel that the server starts from this kernelspec, as JupyterLab
    would have it start one."""
    manager = AsyncKernelManager(
        kernel_name=kernel_name, kernel_spec_manager=serverapp.kernel_spec_manager
    )
    await manager.start_kernel()
    client = manager.client()
    try:
        client.start_channels()
        await client.wait_for_ready(timeout=60)
        printed: list[str] = []

        def keep(message: dict[str, Any]) -> None:
            if message["msg_type"] == "stream":
                printed.append(message["content"]["text"])

        await client.execute_interactive(
            "import sys; print(sys.prefix)", output_hook=keep, timeout=60
        )
    finally:
        client.stop_channels()
        await manager.shutdown_kernel(now=True)
    return "".join(printed).strip()


async def test_a_build_streams_its_log_and_gives_a_kernel_to_jupyterlab(
    api: ApiCall, jp_root_dir: Path, jp_ws_fetch: Any, jp_fetch: Any, jp_serverapp: Any
) -> None:
    shutil.copytree(EXAMPLE_PROJECT, jp_root_dir / "quickstart")
    project = {"project": "quickstart"}
    socket = await jp_ws_fetch(
        "orchest", "api", "events", params={"environment": EXAMPLE_ENVIRONMENT}
    )
    status, build = await api("POST", "environments", EXAMPLE_ENVIRONMENT, "builds", params=project)
    assert status == 201 and build["number"] == 1
    status, joined = await api(
        "POST", "environments", EXAMPLE_ENVIRONMENT, "builds", params=project
    )
    assert status == 200 and joined["number"] == 1  # one build at a time: joined

    events: list[dict[str, Any]] = []
    while not any(e["type"] == "build" and e["state"] == "SUCCESS" for e in events):
        events.append(json.loads(await asyncio.wait_for(socket.read_message(), 120)))
    socket.close()
    states = [e["state"] for e in events if e["type"] == "build"]
    assert states == ["PENDING", "BUILDING", "SUCCESS"]
    first = events[0]
    assert first["project"] == "quickstart" and first["environment_name"] == "Python 3"
    assert first["number"] == 1 and first["backend"] == "local"
    streamed = "".join(e["text"] for e in events if e["type"] == "build_log")
    assert "Installing ipykernel" in streamed

    build = await finished_build(api, "quickstart", EXAMPLE_ENVIRONMENT, 1)
    assert build["state"] == "SUCCESS" and build["fingerprint"]
    status, log = await api(
        "GET", "environments", EXAMPLE_ENVIRONMENT, "builds", "1", "log", params=project
    )
    assert status == 200 and log == streamed
    _, builds = await api("GET", "environments", EXAMPLE_ENVIRONMENT, "builds", params=project)
    assert [b["number"] for b in builds["builds"]] == [1]
    _, environment = await api("GET", "environments", EXAMPLE_ENVIRONMENT, params=project)
    assert environment["built"] is True and environment["latest_build"]["state"] == "SUCCESS"

    # The environment's kernel is in JupyterLab's kernelspecs, and its notebooks ask for it.
    kernel_name = f"orchest-kernel-{EXAMPLE_ENVIRONMENT}"
    specs = json.loads((await jp_fetch("api", "kernelspecs")).body)["kernelspecs"]
    assert specs[kernel_name]["spec"]["display_name"] == "Python 3 (quickstart)"
    assert specs[kernel_name]["spec"]["argv"][0].startswith(
        str(jp_root_dir / "quickstart" / ".orchest" / "venvs")
    )
    assert await kernel_prefix(jp_serverapp, kernel_name) == str(
        jp_root_dir / "quickstart" / ".orchest" / "venvs" / EXAMPLE_ENVIRONMENT / "1"
    )
    status, kernel = await api(
        "GET", "environments", "kernel", params={"path": "quickstart/summarize.ipynb"}
    )
    assert status == 200 and kernel["kernel_name"] == kernel_name
    assert kernel["environment"]["uuid"] == EXAMPLE_ENVIRONMENT
    _, nothing = await api("GET", "environments", "kernel", params={"path": "quickstart/README.md"})
    assert nothing == {"kernel_name": None, "environment": None}

    # A step running in the environment keeps it from being deleted.
    pipeline_writer(jp_root_dir / "quickstart")(
        [make_step("slow", "slow.py", [], environment=EXAMPLE_ENVIRONMENT)],
        {"slow.py": "import sys, time\nprint(sys.prefix, flush=True)\ntime.sleep(60)\n"},
    )
    _, run = await api("POST", "runs", body={"pipeline": "quickstart/test.orchest"})

    async def running() -> bool | None:
        _, log = await api("GET", "runs", run["id"], "steps", "slow", "log")
        return True if "venvs" in log else None

    await wait_until(running, "the slow step")
    status, refused = await api("DELETE", "environments", EXAMPLE_ENVIRONMENT, params=project)
    assert status == 409 and "in use by a running step" in refused["message"]
    await api("POST", "runs", run["id"], "cancel")
    assert (await finished_run(api, run["id"]))["state"] == "ABORTED"

    status, _ = await api("DELETE", "environments", EXAMPLE_ENVIRONMENT, params=project)
    assert status == 204
    specs = json.loads((await jp_fetch("api", "kernelspecs")).body)["kernelspecs"]
    assert kernel_name not in specs
    state = jp_root_dir / "quickstart" / ".orchest"
    assert not (state / "venvs" / EXAMPLE_ENVIRONMENT).exists()
    assert not (state / "builds" / EXAMPLE_ENVIRONMENT).exists()


async def test_a_build_can_be_cancelled(api: ApiCall, jp_root_dir: Path) -> None:
    (jp_root_dir / "proj").mkdir()
    project = {"project": "proj"}
    body = {"name": "Slow", "setup_script": "echo waiting\nsleep 300\n"}
    _, environment = await api("POST", "environments", params=project, body=body)
    uuid = environment["uuid"]
    _, build = await api("POST", "environments", uuid, "builds", params=project)

    async def waiting() -> bool | None:
        _, log = await api("GET", "environments", uuid, "builds", "1", "log", params=project)
        return True if "waiting" in log else None

    await wait_until(waiting, "the setup script")
    status, _ = await api("POST", "environments", uuid, "builds", "1", "cancel", params=project)
    assert status == 200
    build = await finished_build(api, "proj", uuid, 1)
    assert (build["state"], build["message"]) == ("ABORTED", "The build was cancelled.")
    assert not (jp_root_dir / "proj" / ".orchest" / "venvs" / uuid / "1").exists()
    status, reply = await api("POST", "environments", uuid, "builds", "1", "cancel", params=project)
    assert status == 409 and "not under way" in reply["message"]
    status, _ = await api("GET", "environments", uuid, "builds", "2", params=project)
    assert status == 404


async def test_a_run_naming_a_missing_environment_is_refused(
    api: ApiCall, jp_root_dir: Path
) -> None:
    pipeline_writer(jp_root_dir)(
        [make_step("a", "a.py", [], environment="gone")], {"a.py": "print('never')"}
    )
    status, reply = await api("POST", "runs", body={"pipeline": "test.orchest"})
    assert status == 400
    assert [issue["rule"] for issue in reply["issues"]] == ["unknown-environment"]
