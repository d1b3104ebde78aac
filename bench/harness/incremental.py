"""The `incremental` workload: what a second run costs when nothing changed, and when one
parameter did, side by side with Ploomber's incremental build; and how fast outputs are hashed.

A chain of 10 notebooks, each adding its parameter `value` to its parent's output (Ploomber's
notebooks get their parameter the Ploomber way and rely on Ploomber's rerun of what depends on
a changed task). Four phases in one fresh folder and cache: the first run, the same run again
at once, the same run again after a pause (a server has then finished cleaning up after the
first run: its kernels have exited), and a run with the fifth step's `value` changed. Each
notebook writes a marker when it really runs, so each phase says which steps ran.
jupyter-orchest is measured two ways: in a long-running Jupyter server (POST the run over REST,
wait for it: the JupyterLab use case), and with the command line, where starting Python and
importing dominate a run that does nothing.
"""

import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .measure import kill_tree, timed_run
from .report import Results, Row
from .tools import Command, environment_with, stable_uuid, write_notebook
from .workloads import MARKER_DIR

NAME = "incremental"
LENGTH = 10
CHANGED = 5
"""The step whose parameter the third phase changes (1-based)."""
SETTLE_SECONDS = 3.0
"""The pause before the "settled" phase."""
PHASES = ("first", "unchanged", "settled", "param")
PHASE_LABELS = {
    "first": "first run",
    "unchanged": "unchanged rerun at once",
    "settled": f"unchanged rerun {SETTLE_SECONDS:.0f} s later",
    "param": f"step {CHANGED}'s parameter changed",
}
SERVER, CLI, PLOOMBER = "jupyter-orchest-server", "jupyter-orchest-cli", "ploomber-incremental"
TOOL_LABELS = {
    SERVER: "jupyter-orchest, in a running server (REST)",
    CLI: "jupyter-orchest, command line",
    PLOOMBER: "Ploomber (serial, incremental build)",
}
HASH_WORKLOAD, HASH_TOOL = "hash-1gib", "jupyter-orchest-hash"
FINISHED = ("SUCCESS", "FAILURE", "ABORTED")
START_MARKER = "<!-- bench:incremental:start -->"
END_MARKER = "<!-- bench:incremental:end -->"


def step_names() -> list[str]:
    return [f"step{index:02d}" for index in range(1, LENGTH + 1)]


def expected_runs(phase: str) -> list[str]:
    """The steps that must really run in each phase."""
    names = step_names()
    return {"first": names, "unchanged": [], "settled": [], "param": names[CHANGED - 1 :]}[phase]


def _marker(name: str) -> str:
    return (
        "import os\nfrom pathlib import Path\n"
        f'Path("{MARKER_DIR}").mkdir(exist_ok=True)\n'
        f'Path("{MARKER_DIR}/{name}").write_text(str(os.getpid()))'
    )


def write_orchest_project(run_dir: Path, variant: str = "") -> Path:
    """The chain as a jupyter-orchest pipeline; `variant` makes other step uuids (for a
    warm-up pipeline that the cache cannot confuse with the measured one)."""
    names = step_names()
    steps: dict[str, Any] = {}
    for index, name in enumerate(names):
        write_notebook(
            run_dir / f"{name}.ipynb",
            [
                "import orchest\nvalue = orchest.get_step_param('value', 1)",
                "total = value + sum(orchest.get_inputs()['unnamed'])\n"
                "orchest.output(total, name=None)\nprint(total)",
                _marker(name),
            ],
        )
        uuid = stable_uuid(NAME + variant, name)
        parents = [stable_uuid(NAME + variant, names[index - 1])] if index else []
        steps[uuid] = {
            "environment": "",
            "file_path": f"{name}.ipynb",
            "incoming_connections": parents,
            "kernel": {"display_name": "Python 3", "name": "python3"},
            "meta_data": {"hidden": False, "position": [80 + 200 * index, 160]},
            "parameters": {"value": 1},
            "title": name,
            "uuid": uuid,
        }
    definition = {
        "name": NAME,
        "parameters": {},
        "services": {},
        "settings": {},
        "steps": steps,
        "uuid": stable_uuid(NAME + variant, "pipeline"),
        "version": "1.0.0",
    }
    pipeline = run_dir / f"{NAME}{variant}.orchest"
    pipeline.write_text(json.dumps(definition, indent=4) + "\n")
    return pipeline


def write_ploomber_project(run_dir: Path, changed_value: int = 1) -> None:
    names = step_names()
    lines = ["executor: serial", "tasks:"]
    for index, name in enumerate(names):
        upstream = repr([names[index - 1]]) if index else "None"
        write_notebook(
            run_dir / f"{name}.ipynb",
            ["total = value", "print(total)", _marker(name)],
            parameters=f"upstream = {upstream}\nproduct = None\nvalue = 1",
        )
        value = changed_value if index == CHANGED - 1 else 1
        lines += [
            f"  - source: {json.dumps(name + '.ipynb')}",
            f"    name: {json.dumps(name)}",
            f"    product: {json.dumps(f'out/{name}.ipynb')}",
            f"    params: {{value: {value}}}",
        ]
    (run_dir / "pipeline.yaml").write_text("\n".join(lines) + "\n")


def ran_steps(run_dir: Path) -> list[str]:
    """The steps whose notebooks ran since the markers were last cleared."""
    return sorted(path.name for path in (run_dir / MARKER_DIR).glob("*"))


def clear_markers(run_dir: Path) -> None:
    shutil.rmtree(run_dir / MARKER_DIR, ignore_errors=True)


@dataclass
class PhaseTiming:
    seconds: float
    ran: list[str]


class JupyterServer:
    """A Jupyter server with the extension, serving `root` on a free local port, with a
    Jupyter data folder (so a cache and a database) of its own; `extra_env` adds variables
    to its environment."""

    def __init__(
        self,
        jupyter: str,
        root: Path,
        data_dir: Path,
        log_path: Path,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.token = secrets.token_hex(16)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = environment_with(Path(jupyter).parent) | {"JUPYTER_DATA_DIR": str(data_dir)}
        env |= extra_env or {}
        self.log = log_path.open("wb")
        self.process = subprocess.Popen(
            [
                jupyter,
                "server",
                "--no-browser",
                f"--ServerApp.port={self.port}",
                "--ServerApp.ip=127.0.0.1",
                f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={root}",
                "--OrchestApp.environment_backend=none",
                *(["--allow-root"] if os.geteuid() == 0 else []),
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready(timeout=120)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}")
            try:
                self.call("GET", "api/status")
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the server did not answer within {timeout:.0f} s")

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"null")

    def run(
        self, body: dict[str, Any], pipeline_uuid: str, timeout: float
    ) -> tuple[float, dict[str, Any]]:
        """POST a run and wait for the event that says it is over, as JupyterLab does: its
        wall time, and the finished run."""
        return asyncio.run(self._run(body, pipeline_uuid, timeout))

    async def _run(
        self, body: dict[str, Any], pipeline_uuid: str, timeout: float
    ) -> tuple[float, dict[str, Any]]:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        url = f"ws://127.0.0.1:{self.port}/orchest/api/events?pipeline={pipeline_uuid}"
        headers = {"Authorization": f"token {self.token}"}
        socket = await websocket_connect(HTTPRequest(url, headers=headers))
        try:
            started = time.perf_counter()
            run = await asyncio.to_thread(self.call, "POST", "orchest/api/runs", body)
            while True:
                message = await asyncio.wait_for(socket.read_message(), timeout)
                if message is None:
                    raise RuntimeError("the server closed the events socket")
                event = json.loads(message)
                over = event["type"] == "run" and event["state"] in FINISHED
                if over and event["run_id"] == run["id"]:
                    break
            seconds = time.perf_counter() - started
        finally:
            socket.close()
        return seconds, self.call("GET", f"orchest/api/runs/{run['id']}")

    def stop(self) -> None:
        kill_tree(self.process.pid)
        self.process.wait()
        self.log.close()


def measure_server(jupyter: str, run_dir: Path, timeout: float) -> dict[str, PhaseTiming]:
    pipeline = write_orchest_project(run_dir)
    warm_up = write_orchest_project(run_dir, variant="-warm-up")
    server = JupyterServer(jupyter, run_dir, run_dir / ".jupyter-data", run_dir / "server.log")
    try:
        # A run of other steps first: the server's kernels are ready, as in a session in use.
        server.run({"pipeline": warm_up.name}, _uuid(warm_up), timeout)
        time.sleep(SETTLE_SECONDS)  # and settled: its standby kernel is there
        timings = {}
        changed = stable_uuid(NAME, step_names()[CHANGED - 1])
        bodies = {
            "first": {"pipeline": pipeline.name},
            "unchanged": {"pipeline": pipeline.name},
            "settled": {"pipeline": pipeline.name},
            "param": {
                "pipeline": pipeline.name,
                "parameters": {"steps": {changed: {"value": 2}}},
            },
        }
        for phase in PHASES:
            clear_markers(run_dir)
            if phase == "settled":
                time.sleep(SETTLE_SECONDS)
            seconds, run = server.run(bodies[phase], _uuid(pipeline), timeout)
            if run["state"] != "SUCCESS":
                raise RuntimeError(f"{phase}: the run ended {run['state']}: {run['message']}")
            timings[phase] = PhaseTiming(seconds, ran_steps(run_dir))
            computed = sorted(s["title"] for s in run["steps"] if not s["cached"])
            if computed != timings[phase].ran:
                raise RuntimeError(f"{phase}: the run computed {computed}, the markers disagree")
        return timings
    finally:
        server.stop()


def _uuid(pipeline: Path) -> str:
    uuid: str = json.loads(pipeline.read_text())["uuid"]
    return uuid


def measure_command_line(
    commands: dict[str, Command], run_dir: Path, timeout: float
) -> dict[str, PhaseTiming]:
    timings = {}
    for phase in PHASES:
        clear_markers(run_dir)
        if phase == "param" and (run_dir / "pipeline.yaml").is_file():
            write_ploomber_project(run_dir, changed_value=2)
        log = run_dir / f"{phase}.log"
        timing = timed_run(commands[phase], run_dir, log, timeout)
        if timing.timed_out or timing.returncode != 0:
            raise RuntimeError(f"{phase}: exit code {timing.returncode}, see {log}")
        timings[phase] = PhaseTiming(timing.seconds, ran_steps(run_dir))
    return timings


def cli_commands(jupyter: str, run_dir: Path) -> dict[str, Command]:
    pipeline = write_orchest_project(run_dir).name
    env = environment_with(Path(jupyter).parent) | {
        "JUPYTER_DATA_DIR": str(run_dir / ".jupyter-data")
    }
    run = [jupyter, "orchest", "run", pipeline, "--environment-backend", "none"]
    changed = f"{step_names()[CHANGED - 1]}.value=2"
    return {
        "first": Command(run, env),
        "unchanged": Command(run, env),
        "settled": Command(run, env),
        "param": Command([*run, "--param", changed], env),
    }


def ploomber_commands(ploomber_venv: Path, run_dir: Path) -> dict[str, Command]:
    write_ploomber_project(run_dir)
    bin_dir = ploomber_venv / "bin"
    build = [str(bin_dir / "ploomber"), "build", "--entry-point", "pipeline.yaml"]
    return dict.fromkeys(PHASES, Command(build, environment_with(bin_dir)))


def hash_speed(folder: Path, size: int = 2**30) -> tuple[float, float, float]:
    """MB/s of BLAKE3 over a `size`-byte output read from the page cache, read from the disk,
    and of plainly reading it from the disk (what "near disk speed" compares with)."""
    from jupyter_orchest.engine.hashing import CHUNK_BYTES, file_digest

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "output.bin"
    with path.open("wb") as file:
        block = os.urandom(CHUNK_BYTES)
        for _ in range(size // CHUNK_BYTES):
            file.write(block)
    try:
        file_digest(path)  # into the page cache
        started = time.perf_counter()
        file_digest(path)
        cached = size / (time.perf_counter() - started) / 1e6
        _drop_from_page_cache(path)
        started = time.perf_counter()
        file_digest(path)
        from_disk = size / (time.perf_counter() - started) / 1e6
        _drop_from_page_cache(path)
        started = time.perf_counter()
        with path.open("rb", buffering=0) as file:
            buffer = bytearray(CHUNK_BYTES)
            while file.readinto(buffer):
                pass
        reading = size / (time.perf_counter() - started) / 1e6
    finally:
        path.unlink()
    return cached, from_disk, reading


def _drop_from_page_cache(path: Path) -> None:
    """Make the next read of this file (and only this file) come from the disk."""
    with path.open("rb") as file:
        os.fsync(file.fileno())
        os.posix_fadvise(file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def render(results: Results) -> str:
    """The incremental section of the README, from the results' rows."""
    lines = [
        f"**{NAME}**: a chain of {LENGTH} notebooks; the first run, the same run again (at once, "
        f"and {SETTLE_SECONDS:.0f} s later), and a run with step {CHANGED}'s parameter changed "
        f"(steps {CHANGED} to {LENGTH} must rerun)",
        "",
        "| tool | " + " | ".join(PHASE_LABELS[p] for p in PHASES) + " | unchanged / first "
        f"(at once; {SETTLE_SECONDS:.0f} s later) | steps rerun after the change | version | "
        "measured |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for tool in (SERVER, CLI, PLOOMBER):
        rows = {phase: results.row(f"{NAME}:{phase}", tool) for phase in PHASES}
        first = rows["first"]
        if first is None:
            continue
        if first.status != "ok":
            lines.append(f"| {TOOL_LABELS[tool]} | {first.status}: {first.note} ||||||||")
            continue
        medians = {p: r.median if r is not None else None for p, r in rows.items()}
        cells = [f"{m:.2f} s" if m is not None else "-" for m in medians.values()]
        ratio = "; ".join(
            f"{100 * medians[phase] / medians['first']:.1f} %"
            if medians[phase] is not None and medians["first"]
            else "-"
            for phase in ("unchanged", "settled")
        )
        param = rows["param"]
        rerun = param.note if param is not None else "-"
        lines.append(
            f"| {TOOL_LABELS[tool]} | {' | '.join(cells)} | {ratio} | {rerun} | "
            f"{first.version} | {first.measured} |"
        )
    hashing = results.row(HASH_WORKLOAD, HASH_TOOL)
    if hashing is not None and hashing.status == "ok":
        lines += ["", f"**Hashing a 1 GiB output** (BLAKE3, one thread): {hashing.note}."]
    return "\n".join(lines) + "\n"


def replace_section(readme: str, section: str) -> str:
    block = f"{START_MARKER}\n{section}{END_MARKER}"
    if START_MARKER in readme and END_MARKER in readme:
        before = readme.split(START_MARKER, 1)[0]
        after = readme.split(END_MARKER, 1)[1]
        return before + block + after
    return readme.rstrip("\n") + "\n\n" + block + "\n"


def rows_for(tool: str, runs: list[dict[str, PhaseTiming]], version: str, today: str) -> list[Row]:
    """One row per phase; the "param" row's note says which steps reran."""
    rows = []
    for phase in PHASES:
        ran = sorted({name for run in runs for name in run[phase].ran})
        wrong = [run[phase].ran for run in runs if run[phase].ran != expected_runs(phase)]
        note = _describe(ran) if phase == "param" else ""
        if wrong:
            note = f"expected {_describe(expected_runs(phase))}, ran {_describe(wrong[0])}"
        rows.append(
            Row(
                f"{NAME}:{phase}",
                tool,
                TOOL_LABELS[tool],
                "ok" if not wrong else "failed",
                seconds=[round(run[phase].seconds, 3) for run in runs],
                note=note,
                version=version,
                measured=today,
            )
        )
    return rows


def _describe(names: list[str]) -> str:
    if not names:
        return "none"
    numbers = [int(name.removeprefix("step")) for name in names]
    if numbers == list(range(numbers[0], numbers[-1] + 1)) and len(numbers) > 1:
        return f"steps {numbers[0]} to {numbers[-1]}"
    return ", ".join(f"step {n}" for n in numbers)
