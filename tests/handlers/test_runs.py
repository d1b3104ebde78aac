"""Runs through the REST API and the event WebSocket, against a real server and real kernels,
recorded in SQLite and in PostgreSQL."""

import asyncio
import json
import shutil
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

from support import EXAMPLE_PROJECT, FINISHED_RUN_STATES, make_step, pipeline_writer, with_database

ApiCall = Any


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], database_url: str) -> dict[str, Any]:
    return with_database(jp_server_config, database_url)


async def wait_for_run(api: ApiCall, run_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, run = await api("GET", "runs", run_id)
        assert status == 200
        if run["state"] in FINISHED_RUN_STATES:
            return dict(run)
        assert time.monotonic() < deadline, f"run still {run['state']}"
        await asyncio.sleep(0.1)


def copy_quickstart(root: Path) -> Path:
    shutil.copytree(EXAMPLE_PROJECT, root / "quickstart")
    return root / "quickstart"


async def test_the_example_project_runs_end_to_end(api: ApiCall, jp_root_dir: Path) -> None:
    project = copy_quickstart(jp_root_dir)
    status, run = await api("POST", "runs", body={"pipeline": "quickstart/quickstart.orchest"})
    assert status == 201 and run["state"] in ("PENDING", "STARTED")
    run = await wait_for_run(api, run["id"])
    assert run["state"] == "SUCCESS", run
    assert [step["title"] for step in run["steps"]] == ["Get data", "Clean", "Summarize", "Report"]
    assert {step["state"] for step in run["steps"]} == {"COMPUTED"}
    assert all(step["started_at"] and step["finished_at"] for step in run["steps"])

    # The notebook received its outputs, cell by cell, and kept its own metadata.
    summary = nbformat.read(project / "summarize.ipynb", as_version=4)
    assert summary.metadata.kernelspec.name == "python3"
    assert any(cell.get("outputs") for cell in summary.cells if cell.cell_type == "code")

    clean = run["steps"][1]
    status, log = await api("GET", "runs", run["id"], "steps", clean["uuid"], "log")
    assert status == 200 and "kept" in log

    status, listing = await api("GET", "runs", params={"pipeline": "quickstart/quickstart.orchest"})
    assert [r["id"] for r in listing["runs"]] == [run["id"]]


async def test_parameters_can_be_overridden_for_one_run(
    api: ApiCall, jp_root_dir: Path, jp_fetch: Any
) -> None:
    project = copy_quickstart(jp_root_dir)
    original = (project / "quickstart.orchest").read_text()
    body = {"pipeline": "quickstart/quickstart.orchest", "parameters": {"pipeline": {"n_rows": 12}}}
    _, run = await api("POST", "runs", body=body)
    run = await wait_for_run(api, run["id"])
    assert run["state"] == "SUCCESS", run
    clean = next(step for step in run["steps"] if step["title"] == "Clean")
    log = await jp_fetch("orchest", "api", "runs", run["id"], "steps", clean["uuid"], "log")
    assert "of 12 measurements" in log.body.decode()
    assert (project / "quickstart.orchest").read_text() == original


async def test_one_run_per_pipeline_at_a_time_and_cancel(api: ApiCall, jp_root_dir: Path) -> None:
    pipeline_writer(jp_root_dir)(
        [make_step("slow", "slow.py", [])], {"slow.py": "import time; time.sleep(60)"}
    )
    _, first = await api("POST", "runs", body={"pipeline": "test.orchest"})
    status, refused = await api("POST", "runs", body={"pipeline": "test.orchest"})
    assert status == 409
    assert refused["run_id"] == first["id"] and first["id"] in refused["message"]

    status, _ = await api("POST", "runs", first["id"], "cancel")
    assert status == 200
    run = await wait_for_run(api, first["id"], timeout=30)
    assert run["state"] == "ABORTED"
    assert run["steps"][0]["state"] == "ABORTED"

    _, again = await api("POST", "runs", body={"pipeline": "test.orchest"})
    await api("POST", "runs", again["id"], "cancel")
    assert (await wait_for_run(api, again["id"], timeout=30))["state"] == "ABORTED"


async def test_bad_run_requests_are_refused_clearly(api: ApiCall, jp_root_dir: Path) -> None:
    write = pipeline_writer(jp_root_dir)
    write([make_step("a", "a.py", [])], {"a.py": ""})
    cases = [
        ({"pipeline": "test.orchest", "type": "selection", "steps": ["nope"]}, "nope"),
        ({"pipeline": "test.orchest", "type": "sideways"}, "type"),
        ({"pipeline": "test.orchest", "type": "selection"}, "steps"),
        ({"pipeline": "test.orchest", "parameters": {"steps": {"zzz": {}}}}, "zzz"),
        ({"pipeline": "missing.orchest"}, "missing.orchest"),
        ({}, "pipeline"),
    ]
    for body, mentioned in cases:
        status, reply = await api("POST", "runs", body=body)
        assert status in (400, 404), body
        assert mentioned in reply["message"], (body, reply)

    (jp_root_dir / "test.orchest").write_text(
        (jp_root_dir / "test.orchest")
        .read_text()
        .replace('"incoming_connections": []', '"incoming_connections": ["a"]')
    )
    status, reply = await api("POST", "runs", body={"pipeline": "test.orchest"})
    assert status == 400 and reply["issues"][0]["rule"] == "self-connection"
    status, runs = await api("GET", "runs")
    assert runs["runs"] == []


async def test_events_stream_states_and_logs_over_an_authenticated_websocket(
    api: ApiCall, jp_root_dir: Path, jp_ws_fetch: Any
) -> None:
    pipeline_writer(jp_root_dir)(
        [make_step("hello", "hello.py", [])], {"hello.py": "print('hello from the step')"}
    )
    socket = await jp_ws_fetch("orchest", "api", "events")
    _, run = await api("POST", "runs", body={"pipeline": "test.orchest"})
    seen: list[dict[str, Any]] = []
    while not any(e["type"] == "run" and e["state"] in FINISHED_RUN_STATES for e in seen):
        seen.append(json.loads(await asyncio.wait_for(socket.read_message(), 30)))
    socket.close()
    assert all(event["run_id"] == run["id"] for event in seen)
    states = [e["state"] for e in seen if e["type"] == "step"]
    assert states == ["PENDING", "RUNNING", "COMPUTED"]
    assert "hello from the step" in "".join(e["text"] for e in seen if e["type"] == "log")
