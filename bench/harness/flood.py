"""The flood workload: how much memory a step that prints hundreds of megabytes costs the
server, and what it leaves in the notebook.

A real Jupyter server with the extension runs a notebook step, then a script step, each
printing `megabytes` MB (lines of 100 bytes), while two clients follow the server's events: one
that reads them as JupyterLab does, one that never reads (a stalled browser tab). The
server's resident memory (VmRSS, sampled from /proc every 20 ms) is measured idle (after a
small warm-up run), at its peak during each run, and a few seconds after it; then at its peak
while a client reads the notebook step's whole log from the log route. The notebook written
back is weighed. Beside it, papermill runs the same notebook on its own, as a user would run
it outside JupyterLab: its process's peak memory and the size of the notebook it writes.
"""

import asyncio
import json
import os
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .incremental import JupyterServer
from .tools import stable_uuid, write_notebook

NAME = "flood"
LINE_BYTES = 100
SETTLE_SECONDS = 5.0
"""How long after a run its "after" memory is read: what the server keeps, not what it frees."""
SAMPLE_SECONDS = 0.02
GOAL_MB = 200
"""The goal: a flood costs the server less than this over its idle memory."""
KINDS = ("notebook", "script")


def flood_source(megabytes: int) -> str:
    lines = megabytes * 1_000_000 // LINE_BYTES
    return f"line = 'x' * {LINE_BYTES - 1}\nfor _ in range({lines}):\n    print(line)\n"


def write_project(run_dir: Path, megabytes: int) -> dict[str, Path]:
    """A project with one pipeline per kind of flooding step, and a small warm-up one; the
    pipeline files by kind (and "warm-up")."""
    (run_dir / ".orchest").mkdir(parents=True)
    write_notebook(run_dir / "flood.ipynb", [flood_source(megabytes)])
    (run_dir / "flood.py").write_text(flood_source(megabytes))
    write_notebook(run_dir / "warm_up.ipynb", ["print('warm')"])
    files = {"notebook": "flood.ipynb", "script": "flood.py", "warm-up": "warm_up.ipynb"}
    pipelines = {}
    for kind, file in files.items():
        uuid = stable_uuid(NAME, kind, "step")
        definition = {
            "name": f"{NAME} {kind}",
            "parameters": {},
            "services": {},
            "settings": {},
            "steps": {
                uuid: {
                    "environment": "",
                    "file_path": file,
                    "incoming_connections": [],
                    "kernel": {"display_name": "Python 3", "name": "python3"},
                    "meta_data": {"hidden": False, "position": [80, 80]},
                    "parameters": {},
                    "title": kind,
                    "uuid": uuid,
                }
            },
            "uuid": stable_uuid(NAME, kind),
            "version": "1.0.0",
        }
        pipelines[kind] = run_dir / f"{NAME}-{kind}.orchest"
        pipelines[kind].write_text(json.dumps(definition, indent=4) + "\n")
    return pipelines


def rss_mb(pid: int) -> float:
    """A process's resident memory in MB (10^6 bytes), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"process {pid} reports no VmRSS")


class PeakSampler:
    """The highest resident memory of a process while the block runs, sampled in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except (OSError, RuntimeError):
                return  # the process ended
            self._stop.wait(SAMPLE_SECONDS)

    @contextmanager
    def sampling(self) -> Iterator["PeakSampler"]:
        thread = threading.Thread(target=self._sample, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()


@contextmanager
def stalled_client(server: JupyterServer) -> Iterator[None]:
    """An events client that connects and never reads, for as long as the block runs."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    stop = threading.Event()
    connected = threading.Event()

    def hold() -> None:
        async def connect_and_wait() -> None:
            url = f"ws://127.0.0.1:{server.port}/orchest/api/events"
            headers = {"Authorization": f"token {server.token}"}
            socket = await websocket_connect(HTTPRequest(url, headers=headers))
            connected.set()
            while not stop.is_set():
                await asyncio.sleep(0.1)
            socket.close()

        asyncio.run(connect_and_wait())

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    connected.wait(30)
    try:
        yield
    finally:
        stop.set()
        thread.join()


@dataclass
class FloodFigures:
    """What one flooding step cost (memory in MB)."""

    kind: str
    peak: float
    seconds: float
    idle: float | None = None
    """The server's memory before the run (None for a process started for the run)."""
    after: float | None = None
    notebook_mb: float | None = None
    """The notebook's size after the run (notebook steps)."""
    log_mb: float | None = None
    log_read_peak: float | None = None
    """The server's peak while a client read the step's whole log."""


def measure_server(
    jupyter: str,
    run_dir: Path,
    megabytes: int,
    timeout: float,
    extra_env: dict[str, str] | None = None,
) -> list[FloodFigures]:
    pipelines = write_project(run_dir, megabytes)
    server = JupyterServer(
        jupyter, run_dir, run_dir / ".jupyter-data", run_dir / "server.log", extra_env
    )
    figures = []
    try:
        server.run({"pipeline": pipelines["warm-up"].name}, _uuid(pipelines["warm-up"]), timeout)
        time.sleep(SETTLE_SECONDS)
        pid = server.process.pid
        for kind in KINDS:
            idle = rss_mb(pid)
            started = time.perf_counter()
            with stalled_client(server), PeakSampler(pid).sampling() as sampler:
                body = {"pipeline": pipelines[kind].name, "force": True}
                _, run = server.run(body, _uuid(pipelines[kind]), timeout)
            seconds = time.perf_counter() - started
            if run["state"] != "SUCCESS":
                raise RuntimeError(f"the {kind} run ended {run['state']}: {run['message']}")
            time.sleep(SETTLE_SECONDS)
            after = rss_mb(pid)
            (step,) = run["steps"]
            with PeakSampler(pid).sampling() as reading:
                log_bytes = read_log(server, run["id"], step["uuid"])
            notebook = run_dir / "flood.ipynb"
            figures.append(
                FloodFigures(
                    kind=kind,
                    idle=idle,
                    peak=sampler.peak,
                    after=after,
                    seconds=seconds,
                    notebook_mb=notebook.stat().st_size / 1e6 if kind == "notebook" else None,
                    log_mb=log_bytes / 1e6,
                    log_read_peak=reading.peak,
                )
            )
    finally:
        server.stop()
    return figures


def read_log(server: JupyterServer, run_id: str, step_uuid: str) -> int:
    """Read a step's whole log from the log route in one request, as it streams; its bytes."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/orchest/api/runs/{run_id}/steps/{step_uuid}/log",
        headers={"Authorization": f"token {server.token}"},
    )
    total = 0
    with urllib.request.urlopen(request, timeout=600) as response:
        while chunk := response.read(1 << 20):
            total += len(chunk)
    return total


def measure_papermill(
    papermill: Path, run_dir: Path, megabytes: int, timeout: float
) -> FloodFigures:
    """papermill running the flooding notebook: its own process's memory (its kernel is
    another process, as the server's kernels are)."""
    run_dir.mkdir(parents=True)
    write_notebook(run_dir / "flood.ipynb", [flood_source(megabytes)])
    output = run_dir / "out.ipynb"
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(papermill), "flood.ipynb", str(output), "--kernel", "python3"],
        cwd=run_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PATH": f"{papermill.parent}{os.pathsep}{os.environ['PATH']}"},
    )
    with PeakSampler(process.pid).sampling() as sampler:
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            raise RuntimeError(f"papermill was still running after {timeout:.0f} s") from None
    if code != 0:
        raise RuntimeError(f"papermill exited with code {code}")
    return FloodFigures(
        kind="notebook",
        peak=sampler.peak,
        seconds=time.perf_counter() - started,
        notebook_mb=output.stat().st_size / 1e6,
    )


def _uuid(pipeline: Path) -> str:
    uuid: str = json.loads(pipeline.read_text())["uuid"]
    return uuid
