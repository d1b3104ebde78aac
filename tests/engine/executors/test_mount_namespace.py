"""Steps on this machine see their data folder at /data and their project at /project-dir,
each process in a mount namespace of its own; the machine's own /data is never touched."""

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_orchest.engine.executors import LocalExecutor, mount_namespace
from jupyter_orchest.engine.model import StepTask

Kit = Any

pytestmark = [
    pytest.mark.usefixtures("host_orchest_paths"),
    pytest.mark.skipif(bool(mount_namespace.unavailable()), reason=mount_namespace.unavailable()),
]

WRITE_X = 'open("/data/x", "w").write(open("/project-dir/y").read().upper())\n'


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    (folder / "steps").mkdir(parents=True)
    (folder / "y").write_text("from the project\n")
    return folder


def task(project: Path, name: str, data: str = "data", **fields: Any) -> StepTask:
    fields = {"run_id": "run", "step_uuid": name, "title": name, "kernel_name": None, **fields}
    return StepTask(
        file=project / "steps" / name, project_dir=project, data_dir=project / data, **fields
    )


async def run(executor: LocalExecutor, step: StepTask, kit: Kit) -> str:
    (step.data_dir or Path()).mkdir(exist_ok=True)
    reporter = kit.Recorder()
    result = await executor.run_step(step, reporter)
    assert result.succeeded, result.message + reporter.text("stderr")
    return str(reporter.text("stdout"))


# How a server's executors start processes (kernels forked, scripts from a launcher), and how
# one that runs a single step does (on a Ray worker: commands that enter the namespace).
WAYS = {
    "server": {"fork_kernels": True, "script_launcher": True},
    "one-step": {"fork_kernels": False, "script_launcher": False},
}


@pytest.mark.parametrize("way", WAYS)
async def test_a_notebook_and_a_script_see_their_folders(project: Path, kit: Kit, way: str) -> None:
    (project / "steps" / "write.py").write_text(WRITE_X)
    kit.write_notebook(
        project / "steps" / "read.ipynb",
        ['import os\nprint(open("/data/x").read(), sorted(os.listdir("/project-dir")))'],
    )
    async with LocalExecutor(pool_size=0, standby_kernels=0, **WAYS[way]) as local:
        await run(local, task(project, "write.py"), kit)
        await run(local, task(project, "read.ipynb"), kit)
    assert (project / "data" / "x").read_text() == "FROM THE PROJECT\n"
    notebook = kit.read_notebook(project / "steps" / "read.ipynb")
    assert kit.stdout_of(notebook["cells"][0]) == "FROM THE PROJECT\n ['data', 'steps', 'y']\n"


PROBE = """\
import errno, json, os, socket, sys, tempfile
seen = {"cwd": os.getcwd(), "uid": os.getuid(), "gid": os.getgid(), "python": sys.executable}
with tempfile.NamedTemporaryFile(dir=os.environ["HOST_TMP"], delete=False) as file:
    file.write(b"written in /tmp")
seen["tmp"] = file.name
open("/dev/null", "w").write("nothing")
seen["proc"] = open("/proc/self/status").read().startswith("Name:")
seen["home"] = os.path.isdir(os.path.expanduser("~"))
with socket.create_connection(("127.0.0.1", int(os.environ["PORT"])), timeout=10) as peer:
    peer.sendall(b"hello over the network\\n")
for path in ("/new-top-level-file", "/data-but-not-data"):
    try:
        open(path, "w")
        seen[path] = "written"
    except OSError as error:
        seen[path] = errno.errorcode[error.errno]
print(json.dumps(seen))
"""


async def test_everything_else_a_step_needs_is_where_it_was(
    project: Path, tmp_path: Path, kit: Kit
) -> None:
    received: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.readline())
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    (project / "steps" / "probe.py").write_text(PROBE)
    host_tmp = tmp_path / "tmp"
    host_tmp.mkdir()
    step = task(project, "probe.py", env={"PORT": str(port), "HOST_TMP": str(host_tmp)})
    async with server, LocalExecutor(pool_size=0, standby_kernels=0) as local:
        seen = json.loads(await run(local, step, kit))
    assert seen["cwd"] == str(project / "steps")
    assert (seen["uid"], seen["gid"]) == (os.getuid(), os.getgid())
    assert seen["python"] == sys.executable
    assert Path(seen["tmp"]).read_text() == "written in /tmp"
    assert seen["proc"] and seen["home"]
    assert received == [b"hello over the network\n"]
    # The new root is read-only: nothing lands outside the bound folders.
    assert seen["/new-top-level-file"] == seen["/data-but-not-data"] == "EROFS"
    assert not Path("/new-top-level-file").exists()


def uptime() -> float:
    """Seconds since the machine started."""
    return float(Path("/proc/uptime").read_text().split()[0])


# Writes when the kernel's process started, in seconds since the machine did.
RECORD_START = (
    "import os\n"
    'ticks = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19])\n'
    'started = ticks / os.sysconf("SC_CLK_TCK")\n'
    'open(f"/data/{os.environ[\'NAME\']}.started", "w").write(str(started))'
)


def started_at(file: Path) -> float:
    return float(file.read_text())


async def test_kernels_started_ahead_are_in_the_namespace_of_their_step(
    project: Path, kit: Kit
) -> None:
    kit.write_notebook(project / "steps" / "pid.ipynb", [RECORD_START, "import time"])
    first = task(project, "pid.ipynb", env={"NAME": "first"})
    other = task(project, "pid.ipynb", data="other", run_id="other", env={"NAME": "other"})
    for step in (first, other):
        (step.data_dir or Path()).mkdir()
    async with LocalExecutor(pool_size=2, standby_kernels=0) as local:
        local.expect([first, other])
        deadline = time.monotonic() + 60
        while local.warm_kernels() < 2:
            assert time.monotonic() < deadline, "the kernels did not start ahead"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.05)  # so that a kernel started from now on starts later
        before = uptime()
        await run(local, other, kit)
        await run(local, first, kit)
    # Each step got a kernel started before it ran, and saw its own data folder at /data.
    assert started_at(project / "data" / "first.started") < before
    assert started_at(project / "other" / "other.started") < before
    assert not (project / "data" / "other.started").exists()


async def test_the_standby_kernel_follows_the_last_notebook_step(project: Path, kit: Kit) -> None:
    kit.write_notebook(project / "steps" / "pid.ipynb", [RECORD_START])
    async with LocalExecutor(pool_size=2, standby_kernels=1) as local:
        await run(local, task(project, "pid.ipynb", env={"NAME": "first"}), kit)
        deadline = time.monotonic() + 60
        while local.warm_kernels() < 1:  # after a second without steps (STANDBY_DELAY)
            assert time.monotonic() < deadline, "no standby kernel started"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.05)
        before = uptime()
        await run(local, task(project, "pid.ipynb", run_id="next", env={"NAME": "next"}), kit)
    assert started_at(project / "data" / "next.started") < before


@pytest.fixture
def namespaces_off(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process finds mount namespaces turned off, as a machine without them would."""
    monkeypatch.setenv(mount_namespace.SWITCH, "0")
    mount_namespace.unavailable.cache_clear()
    yield
    monkeypatch.undo()
    mount_namespace.unavailable.cache_clear()


@pytest.mark.usefixtures("namespaces_off")
async def test_without_namespaces_a_step_that_mentions_them_is_refused(
    project: Path, kit: Kit
) -> None:
    assert mount_namespace.unavailable() == f"turned off by {mount_namespace.SWITCH}=0"
    (project / "steps" / "write.py").write_text("# Orchest's /data\nimport os\n" + WRITE_X)
    kit.write_notebook(
        project / "steps" / "uses-variables.ipynb",
        ['import os\nopen(os.environ["ORCHEST_DATA_DIR"] + "/z", "w").write("z")'],
    )
    data = project / "data"
    data.mkdir()
    async with LocalExecutor(pool_size=0, standby_kernels=0) as local:
        refused = await local.run_step(task(project, "write.py"), kit.Recorder())
        step = task(project, "uses-variables.ipynb", env={"ORCHEST_DATA_DIR": str(data)})
        await run(local, step, kit)
    assert not refused.succeeded
    assert refused.message.startswith(
        "steps/write.py uses /data or /project-dir, which steps cannot see on this machine "
        f"(mount namespaces are not available: turned off by {mount_namespace.SWITCH}=0):\n"
        '  line 3: open("/data/x", "w").write(open("/project-dir/y").read().upper())\n'
        "Read the folders from the variables ORCHEST_DATA_DIR and ORCHEST_PROJECT_DIR"
    )
    assert os.listdir(data) == ["z"]


@pytest.mark.skipif(os.geteuid() != 0, reason="as any other user, the other tests show it")
def test_a_user_other_than_root_gets_a_namespace_of_its_own(open_tmp_path: Path) -> None:
    """Root has its own way in (a mount namespace alone): this is the way of everyone else,
    a user namespace in which they are still themselves."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is not installed")
    tmp_path = open_tmp_path
    (tmp_path / "data").mkdir()
    (tmp_path / "data").chmod(0o777)
    nobody = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    probe = [sys.executable, "-I", "-S", mount_namespace.__file__, "--probe"]
    done = subprocess.run(
        [*nobody, *probe, str(tmp_path / "data"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    written = tmp_path / "data" / "probe"
    assert written.read_text() == "seen at /data\n"
    assert (written.stat().st_uid, written.stat().st_gid) == (65534, 65534)


@pytest.mark.parametrize("way", WAYS)
async def test_a_namespace_that_cannot_be_made_fails_its_step_saying_why(
    project: Path, kit: Kit, way: str
) -> None:
    (project / "steps" / "write.py").write_text(WRITE_X)
    step = task(project, "write.py", data="missing")  # the engine makes it; not here
    reporter = kit.Recorder()
    async with LocalExecutor(pool_size=0, standby_kernels=0, **WAYS[way]) as local:
        result = await local.run_step(step, reporter)
    assert result.message == f"write.py exited with code {mount_namespace.FAILED}"
    assert reporter.text("stderr") == (
        "The step's mount namespace could not be made: could not bind "
        f"/.old-root{project}/missing at /data: No such file or directory\n"
    )


def test_a_project_inside_the_machines_own_data_folder_is_refused(tmp_path: Path) -> None:
    """The step's /data hides the machine's: a project in there could not be seen. (Checked
    before anything is changed, so this process stays as it was.)"""
    with pytest.raises(mount_namespace.NamespaceError) as refused:
        mount_namespace.enter(str(tmp_path), "/data/projects/mine")
    assert str(refused.value) == (
        "/data/projects/mine is inside this machine's /data, which the step cannot see (its "
        "own /data is there instead): move the project out of /data"
    )
