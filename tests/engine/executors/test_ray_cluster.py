"""A real two-node Ray cluster on loopback, started here as users start one (`ray start --head`,
then `ray start --address` for a second node): an Orchest project that writes to /data and
reads /project-dir runs on it unchanged from the command line, each step in a mount
namespace of its own on the worker that runs it."""

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_orchest.engine.executors import mount_namespace
from support import DATA_PROJECT_OUTPUT, files_under, make_step, pipeline_writer, write_data_project

BIN = Path(sys.executable).parent
CPUS_PER_NODE = 1

pytestmark = [
    pytest.mark.usefixtures("host_orchest_paths"),
    pytest.mark.skipif(bool(mount_namespace.unavailable()), reason=mount_namespace.unavailable()),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_node(temp_dir: str, *role: str) -> subprocess.Popen[str]:
    """`ray start ... --block`: the node's processes stay this process's children, and end
    when it is terminated (never `ray stop`, which stops every Ray of the machine)."""
    ports = (
        "--dashboard-agent-listen-port",
        "--dashboard-agent-grpc-port",
        "--metrics-export-port",
        "--runtime-env-agent-port",
    )
    command = [
        str(BIN / "ray"),
        "start",
        *role,
        "--block",
        "--node-ip-address=127.0.0.1",
        f"--num-cpus={CPUS_PER_NODE}",
        "--object-store-memory=80000000",
        "--disable-usage-stats",
        f"--temp-dir={temp_dir}",
        *(f"{option}={free_port()}" for option in ports),
    ]
    node = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    assert node.stdout is not None
    output = []
    deadline = time.monotonic() + 120
    while "Ray runtime started" not in "".join(output):
        line = node.stdout.readline()
        assert line or node.poll() is None, "".join(output)
        assert time.monotonic() < deadline, "".join(output)
        output.append(line)
    return node


def stop_node(node: subprocess.Popen[str]) -> None:
    node.terminate()
    try:
        node.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(node.pid, 9)
        node.wait()


@pytest.fixture(autouse=True)
def no_stray_processes(kit: Any) -> Iterator[None]:
    """As for the other executors' tests, but Ray starts and keeps workers as it likes:
    every other process a test started (kernels, scripts, the command line) ends."""
    before = set(kit.descendants())
    yield
    started = [pid for pid in kit.descendants() if pid not in before]
    stray = [pid for pid in asyncio.run(kit.wait_gone(started)) if not _is_rays(pid)]
    assert not stray, [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in stray]


def _is_rays(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return True  # gone
    return command.startswith("ray::") or f"{os.sep}ray{os.sep}" in command


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """The address of a head node and a second node, both on this machine."""
    with tempfile.TemporaryDirectory(prefix="ray-", dir="/tmp") as temp_dir:  # short: sockets
        address = f"127.0.0.1:{free_port()}"
        head = start_node(
            temp_dir,
            "--head",
            f"--port={address.rsplit(':', 1)[1]}",
            "--include-dashboard=false",
        )
        try:
            second = start_node(temp_dir, f"--address={address}")
            try:
                yield address
            finally:
                stop_node(second)
        finally:
            stop_node(head)


def orchest_run(pipeline: Path, address: str) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "jupyter-orchest"), "run", str(pipeline), "--ray", address]
    return subprocess.run(
        [*command, "--cache-max-bytes", "0", "--parallelism", "2"],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_an_orchest_project_runs_unchanged_on_the_cluster(cluster: str, tmp_path: Path) -> None:
    pipeline = write_data_project(tmp_path / "project")
    done = orchest_run(pipeline, cluster)
    assert done.returncode == 0, done.stdout + done.stderr
    assert files_under(tmp_path / "project" / "data") == DATA_PROJECT_OUTPUT


TWINS = ("left", "right")
# Runs beside its twin (each waits for the other), so that the two take both nodes' CPUs;
# writes which node's raylet started the worker that runs it.
TWIN = """\
import os, sys, time
me = os.path.basename(sys.argv[0])[: -len(".py")]
twin = {"left": "right", "right": "left"}[me]
worker = os.getppid()
raylet = open(f"/proc/{worker}/stat").read().rsplit(")", 1)[1].split()[1]
open(f"/data/{me}.raylet", "w").write(raylet)
deadline = time.monotonic() + 120
while not os.path.exists(f"/data/{twin}.raylet"):
    assert time.monotonic() < deadline, "the twin step never ran alongside"
    time.sleep(0.05)
"""


def test_steps_run_on_both_nodes_in_their_namespaces(cluster: str, tmp_path: Path) -> None:
    project = tmp_path / "twins"
    (project / ".orchest").mkdir(parents=True)
    pipeline = pipeline_writer(project)(
        [make_step(side, f"{side}.py", []) for side in TWINS],
        {f"{side}.py": TWIN for side in TWINS},
    )
    done = orchest_run(pipeline, cluster)
    assert done.returncode == 0, done.stdout + done.stderr
    raylets = {int((project / "data" / f"{side}.raylet").read_text()) for side in TWINS}
    assert len(raylets) == 2, "both steps ran on the same node"
    for raylet in raylets:
        assert "raylet" in Path(f"/proc/{raylet}/cmdline").read_text()
