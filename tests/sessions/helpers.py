"""What the sessions' tests share: pipelines with services, waiting for states, processes."""

import asyncio
import json
import socket
import time
from pathlib import Path
from typing import Any

import nbformat
import psutil

from jupyter_orchest.pipeline import dump_definition
from support import FINISHED_RUN_STATES

ApiCall = Any
PIPELINE = "test.orchest"


def write_pipeline(
    project: Path,
    steps: list[dict[str, Any]],
    files: dict[str, str],
    services: dict[str, dict[str, Any]] | None = None,
    parameters: dict[str, Any] | None = None,
) -> Path:
    """Step files ({name: source}) and a pipeline of them with these services."""
    project.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        (project / name).write_text(source)
    definition = {
        "name": "test",
        "uuid": "pipeline-1",
        "version": "1.0.0",
        "settings": {},
        "parameters": parameters or {},
        "services": services or {},
        "steps": {step["uuid"]: step for step in steps},
    }
    file = project / PIPELINE
    file.write_text(dump_definition(definition))
    return file


def notebook(cells: list[str]) -> str:
    document = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    document.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    document.cells = [nbformat.v4.new_code_cell(cell) for cell in cells]  # type: ignore[no-untyped-call]
    return str(nbformat.writes(document))  # type: ignore[no-untyped-call]


def service(name: str, **keys: Any) -> dict[str, Any]:
    return {"name": name, "scope": ["interactive"], "order": 1, **keys}


async def session_in(
    api: ApiCall, states: tuple[str, ...], path: str = PIPELINE, timeout: float = 120
) -> dict[str, Any]:
    """The session once it is in one of `states`."""
    deadline = time.monotonic() + timeout
    while True:
        status, session = await api("GET", "pipeline-sessions", path)
        assert status == 200, session
        if session["state"] in states:
            return dict(session)
        assert time.monotonic() < deadline, f"the session stayed {session['state']}: {session}"
        await asyncio.sleep(0.1)


async def until(api: ApiCall, check: Any, path: str = PIPELINE, timeout: float = 120) -> Any:
    """The session once `check(session)` holds."""
    deadline = time.monotonic() + timeout
    while True:
        _, session = await api("GET", "pipeline-sessions", path)
        if check(session):
            return session
        assert time.monotonic() < deadline, f"never happened: {session}"
        await asyncio.sleep(0.1)


async def finished_run(api: ApiCall, run_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        _, run = await api("GET", "runs", run_id)
        if run["state"] in FINISHED_RUN_STATES:
            return dict(run)
        assert time.monotonic() < deadline, f"run still {run['state']}"
        await asyncio.sleep(0.1)


async def step_log(api: ApiCall, run: dict[str, Any], index: int = 0) -> str:
    _, text = await api("GET", "runs", run["id"], "steps", run["steps"][index]["uuid"], "log")
    return str(text)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def descendants() -> set[int]:
    """The processes this one started (the test server's kernels, services ...), alive."""
    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                found.add(child.pid)
        except psutil.NoSuchProcess:
            continue
    return found


def alive(pids: set[int]) -> set[int]:
    return pids & descendants()


async def events_until(socket: Any, done: Any, timeout: float = 120) -> list[dict[str, Any]]:
    """Events read from the WebSocket until `done(event)` holds for one."""
    seen: list[dict[str, Any]] = []
    while not seen or not done(seen[-1]):
        seen.append(json.loads(await asyncio.wait_for(socket.read_message(), timeout)))
    return seen
