"""What a real server does when its database fails: read-only (history shown, new runs and jobs
refused with 503 and what to do), damaged (every route answers 503 with what to do, and the
server stops at SIGTERM), deleted while it runs (made again, recording goes on), and shared
with another server (which aborts only the runs of servers that stopped)."""

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketHandler

from jupyter_orchest.engine.model import RunState
from jupyter_orchest.services.runs import RESTART_REASON
from jupyter_orchest.store import RunStore
from jupyter_orchest.store.database import sqlite_url
from support import (
    FINISHED_RUN_STATES,
    add_run,
    extension_routes,
    implemented_methods,
    make_step,
    pipeline_writer,
    read_only,
    sample_url,
    with_database,
)

ApiCall = Any
STOP_TIMEOUT = 30.0
"""Seconds a server may take to stop at SIGTERM."""


@pytest.fixture
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """The server's database file, as the test's parameter has it: "new", "read-only" (with
    a finished run recorded) or "damaged"."""
    path = tmp_path / "database" / "orchest.db"
    path.parent.mkdir()
    state = getattr(request, "param", "new")
    if state == "damaged":
        path.write_bytes(b"this is no database" * 200)
    if state == "read-only":
        store = RunStore(sqlite_url(path))
        add_run(store, "earlier", RunState.SUCCESS)
        store.database.engine.dispose()
        with read_only(path):
            yield path
        return
    yield path


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], database: Path) -> dict[str, Any]:
    return with_database(jp_server_config, sqlite_url(database))


def waiting_pipeline(folder: Path, release: Path) -> None:
    """A pipeline in `folder` whose one step runs until the file `release` exists."""
    (folder / ".orchest").mkdir(parents=True, exist_ok=True)
    wait = (
        "import pathlib, time\n"
        f"release, deadline = pathlib.Path({str(release)!r}), time.monotonic() + 60\n"
        "while not release.exists() and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)\n"
    )
    pipeline_writer(folder)([make_step("wait", "wait.py", [])], {"wait.py": wait})


async def wait_for(api: ApiCall, run_id: str, states: tuple[str, ...]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        status, run = await api("GET", "runs", run_id)
        assert status == 200, run
        if run["state"] in states or run["steps"][0]["state"] in states:
            return dict(run)
        assert time.monotonic() < deadline, f"run still {run['state']}"
        await asyncio.sleep(0.05)


def error_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.parametrize("database", ["read-only"], indirect=True)
async def test_a_read_only_database_shows_its_history_and_refuses_new_work_saying_why(
    api: ApiCall, jp_root_dir: Path, database: Path, caplog: pytest.LogCaptureFixture
) -> None:
    project = jp_root_dir / "project"
    waiting_pipeline(project, project / "release")

    status, body = await api("GET", "runs")
    assert status == 200 and [run["id"] for run in body["runs"]] == ["earlier"]
    status, body = await api("POST", "runs", body={"pipeline": "project/test.orchest"})
    assert status == 503
    message = body["message"]
    assert f"The database {database} is read-only" in message and "writable" in message
    status, body = await api("POST", "jobs", body={"pipeline_path": "project/test.orchest"})
    assert (status, body["message"]) == (503, message)
    jobs = project / ".orchest" / "jobs"
    assert not [path for path in jobs.rglob("*") if path.is_file()]  # no snapshot left behind
    status, _ = await api("GET", "pipelines")
    assert status == 200  # what needs no database still works
    assert error_messages(caplog).count(message) == 1  # said once in the log


@pytest.mark.parametrize("database", ["damaged"], indirect=True)
async def test_a_damaged_database_makes_every_route_answer_503_with_what_to_do(
    jp_serverapp: Any,
    http_server_client: Any,
    jp_auth_header: dict[str, str],
    jp_ws_fetch: Any,
    database: Path,
) -> None:
    checked = 0
    for pattern, handler in extension_routes(jp_serverapp):
        if issubclass(handler, WebSocketHandler):
            continue  # below
        url = sample_url(pattern)
        for method in implemented_methods(handler):
            body = "{}" if method in ("POST", "PUT", "PATCH") else None
            anonymous = await http_server_client.fetch(
                url, method=method, body=body, raise_error=False
            )
            assert anonymous.code == 403  # nothing is said to whoever is not signed in
            answer = await http_server_client.fetch(
                url, method=method, body=body, headers=jp_auth_header, raise_error=False
            )
            assert answer.code == 503, f"{method} {url} answered {answer.code}"
            message = json.loads(answer.body)["message"]
            assert f"The database {database} is damaged" in message
            assert f"mv '{database}' '{database}.damaged'" in message
            checked += 1
    assert checked >= 20
    with pytest.raises(HTTPClientError) as refused:
        await jp_ws_fetch("orchest", "api", "events")
    assert refused.value.code == 503


async def test_a_database_deleted_while_the_server_runs_is_made_again_and_recording_goes_on(
    api: ApiCall, jp_root_dir: Path, database: Path, caplog: pytest.LogCaptureFixture
) -> None:
    release = jp_root_dir / "release"
    waiting_pipeline(jp_root_dir, release)
    release.touch()
    _, before = await api("POST", "runs", body={"pipeline": "test.orchest", "force": True})
    assert (await wait_for(api, before["id"], FINISHED_RUN_STATES))["state"] == "SUCCESS"
    release.unlink()
    _, under_way = await api("POST", "runs", body={"pipeline": "test.orchest", "force": True})
    await wait_for(api, under_way["id"], ("RUNNING",))

    database.unlink()
    release.touch()
    run = await wait_for(api, under_way["id"], FINISHED_RUN_STATES)

    assert run["state"] == "SUCCESS" and run["steps"][0]["state"] == "COMPUTED"
    assert database.exists()
    _, after = await api("POST", "runs", body={"pipeline": "test.orchest", "force": True})
    assert (await wait_for(api, after["id"], FINISHED_RUN_STATES))["state"] == "SUCCESS"
    _, listed = await api("GET", "runs")
    assert sorted(r["id"] for r in listed["runs"]) == sorted([under_way["id"], after["id"]])
    (warning,) = [r.getMessage() for r in caplog.records if "was deleted" in r.getMessage()]
    assert str(database) in warning and "went with the deleted file" in warning


# Servers in processes of their own, as users run them.


@dataclass
class ServerProcess:
    process: "subprocess.Popen[bytes]"
    port: int
    token: str
    log: Path

    def request(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def stop(self) -> int:
        """Stop it as a user or a service manager does: SIGTERM, then its exit code."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise AssertionError(f"the server did not stop within {STOP_TIMEOUT} s") from None


@contextlib.contextmanager
def server_process(root: Path, database: Path, home: Path) -> Iterator[ServerProcess]:
    """A Jupyter server with the extension, started as a user starts one, stopped at SIGTERM
    if the test did not stop it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = uuid.uuid4().hex
    home.mkdir(parents=True, exist_ok=True)
    log = home / f"server-{port}.log"
    command = [
        sys.executable,
        "-m",
        "jupyter_server",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        "--ServerApp.open_browser=False",
        "--ServerApp.allow_root=True",
        f"--ServerApp.root_dir={root}",
        f"--OrchestApp.database_url={sqlite_url(database)}",
        "--OrchestApp.environment_backend=none",
    ]
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(home / "runtime")}
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    server = ServerProcess(process, port, token, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"the server exited: {log.read_text()}"
            with contextlib.suppress(OSError):
                if server.request("GET", "api/status")[0] == 200:
                    break
            assert time.monotonic() < deadline, f"the server did not start: {log.read_text()}"
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            server.stop()


@pytest.mark.parametrize("database", ["damaged"], indirect=True)
def test_a_server_with_a_damaged_database_says_why_and_stops_at_sigterm(
    database: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with server_process(root, database, tmp_path / "home") as server:
        status, body = server.request("GET", "orchest/api/runs")
        assert status == 503 and f"The database {database} is damaged" in body["message"]
        assert server.stop() == 0
    log = server.log.read_text()
    assert f"jupyter-orchest cannot run: The database {database} is damaged" in log
    assert "Traceback" not in log


async def test_a_second_server_aborts_only_the_runs_of_servers_that_stopped(
    api: ApiCall, jp_root_dir: Path, database: Path, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    waiting_pipeline(jp_root_dir, release)
    other_root = tmp_path / "other"
    waiting_pipeline(other_root, release)
    _, first = await api("POST", "runs", body={"pipeline": "test.orchest", "force": True})
    await wait_for(api, first["id"], ("RUNNING",))

    def run_on_a_server_that_dies() -> str:
        with server_process(other_root, database, tmp_path / "second") as second:
            status, run = second.request(
                "POST", "orchest/api/runs", {"pipeline": "test.orchest", "force": True}
            )
            assert status == 201, run
            status, seen = second.request("GET", f"orchest/api/runs/{first['id']}")
            assert (status, seen["state"]) == (200, "STARTED")  # left alone at its start
            os.killpg(second.process.pid, signal.SIGKILL)
            second.process.wait()
        return str(run["id"])

    orphan = await asyncio.to_thread(run_on_a_server_that_dies)

    def states_seen_by_a_third_server() -> tuple[dict[str, Any], dict[str, Any]]:
        with server_process(other_root, database, tmp_path / "third") as third:
            _, orphaned = third.request("GET", f"orchest/api/runs/{orphan}")
            _, running = third.request("GET", f"orchest/api/runs/{first['id']}")
            assert third.stop() == 0
        return orphaned, running

    orphaned, running = await asyncio.to_thread(states_seen_by_a_third_server)
    release.touch()

    assert (orphaned["state"], orphaned["message"]) == ("ABORTED", RESTART_REASON)
    assert running["state"] == "STARTED"
    finished = await wait_for(api, first["id"], FINISHED_RUN_STATES)
    assert finished["state"] == "SUCCESS"
