"""The local backend: real virtual environments made with uv, real setup scripts, real kernels."""

import asyncio
import importlib.util
import json
import os
import shutil
import subprocess
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import nbformat
import pytest

from jupyter_orchest.engine.executors.forkserver import fork_python
from jupyter_orchest.engine.model import StepTask, Stream
from jupyter_orchest.environments.definition import create_environment
from jupyter_orchest.environments.local import (
    MARKER,
    LocalBackend,
    build_folder,
    find_uv,
    installed_packages_hash,
)
from jupyter_orchest.environments.model import (
    BuildFailed,
    BuildRequest,
    BuiltEnvironment,
    Environment,
)

T = TypeVar("T")

PACKAGE = "termcolor"
"""Small, pure Python, and not installed where the tests run."""


def run_in_thread(work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion in a loop of its own (for module-scoped fixtures)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


@dataclass(frozen=True)
class Built:
    environment: Environment
    backend: LocalBackend
    built: BuiltEnvironment
    log: str

    @property
    def venv(self) -> Path:
        return Path(self.built.reference)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    assert find_uv() is not None, "the tests build environments with uv"
    folder = tmp_path_factory.mktemp("local")
    environment = create_environment(
        folder / "project",
        name="Tools",
        setup_script=f'#!/bin/bash\nset -e\npip install {PACKAGE}\necho "setup ran in $PWD"\n',
    )
    backend = LocalBackend(sdk_parent=folder / "sdk", grace_period=1.0)
    log: list[str] = []
    made = run_in_thread(backend.build(BuildRequest(environment, 1, log.append)))
    return Built(environment, backend, made, "".join(log))


@dataclass
class Recorder:
    lines: list[tuple[Stream, str]]

    def log(self, stream: Stream, text: str) -> None:
        self.lines.append((stream, text))

    def text(self) -> str:
        return "".join(text for _, text in self.lines)


def test_the_setup_script_installs_into_the_venv_and_not_the_servers_python(
    built: Built,
) -> None:
    project = built.environment.project_dir
    assert built.venv == build_folder(project, built.environment.uuid, 1)
    assert (built.venv / MARKER).is_file()
    assert f"setup ran in {project}" in built.log  # run from the project folder
    assert f"Successfully installed {PACKAGE}" in built.log
    assert importlib.util.find_spec(PACKAGE) is None  # not in the Python running the server
    found = subprocess.run(
        [
            built.venv / "bin" / "python",
            "-c",
            f"import {PACKAGE}, orchest; print({PACKAGE}.__file__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.startswith(str(built.venv))
    assert built.built.fingerprint == installed_packages_hash(built.venv)
    assert asyncio.run(built.backend.is_present(built.built))


def test_the_kernelspec_starts_the_venvs_ipykernel(built: Built) -> None:
    spec = built.backend.kernelspec(built.built, built.environment)
    python = str(built.venv / "bin" / "python")
    assert spec["argv"] == [
        python,
        "-m",
        "ipykernel_launcher",
        "--ext=jupyter_orchest",  # `%orchest` without `%load_ext`
        "-f",
        "{connection_file}",
    ]
    assert spec["language"] == "python" and spec["display_name"] == "Tools"
    assert spec["env"]["VIRTUAL_ENV"] == str(built.venv)
    assert spec["env"]["PATH"] == f"{built.venv / 'bin'}{os.pathsep}${{PATH}}"


async def test_notebooks_and_scripts_run_inside_the_venv(built: Built, tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    # Asks for another kernel: in a Python environment every notebook gets the environment's.
    notebook.metadata = {"kernelspec": {"name": "ir", "display_name": "R", "language": "R"}}
    source = f"import os, sys, {PACKAGE}\nprint(sys.prefix)\nprint(os.environ['VIRTUAL_ENV'])"
    magics = "print('orchest' in get_ipython().magics_manager.magics['line'])"
    notebook.cells = [
        nbformat.v4.new_code_cell(source),  # type: ignore[no-untyped-call]
        nbformat.v4.new_code_cell(magics),  # type: ignore[no-untyped-call]
    ]
    (tmp_path / "step.ipynb").write_text(nbformat.writes(notebook))  # type: ignore[no-untyped-call]
    (tmp_path / "step.py").write_text(f"import sys, {PACKAGE}\nprint(sys.prefix)\n")
    (tmp_path / "step.sh").write_text("command -v python\n")
    executor = built.backend.executor(built.built)
    # The environment's kernels can be forked from a fork server running its Python.
    spec = executor.kernel_spec_manager.get_kernel_spec("python3")
    assert fork_python(spec) == str(built.venv / "bin" / "python")
    task = StepTask("run-1", "step", "Step", tmp_path / "step.py", kernel_name="ir")
    async with executor:
        for suffix in (".ipynb", ".py", ".sh"):
            recorder = Recorder([])
            result = await executor.run_step(
                replace(task, file=tmp_path / f"step{suffix}"), recorder
            )
            assert result.succeeded, (suffix, result, recorder.text())
            assert str(built.venv) in recorder.text(), suffix
    outputs = json.loads((tmp_path / "step.ipynb").read_text())["cells"][0]["outputs"]
    assert "".join(outputs[0]["text"]).split() == [str(built.venv), str(built.venv)]
    magic_outputs = json.loads((tmp_path / "step.ipynb").read_text())["cells"][1]["outputs"]
    assert "".join(magic_outputs[0]["text"]).strip() == "True"  # loaded with the kernel


async def test_a_failing_setup_script_gives_its_exit_code_and_last_lines(tmp_path: Path) -> None:
    environment = create_environment(
        tmp_path,
        name="Broken",
        setup_script="echo first\necho 'the mirror is down' >&2\nexit 3\n",
    )
    # The remains of a build whose process died are cleared by the next build.
    abandoned = build_folder(tmp_path, environment.uuid, 7)
    abandoned.mkdir(parents=True)
    backend = LocalBackend(sdk_parent=tmp_path / "sdk")
    with pytest.raises(BuildFailed) as failed:
        await backend.build(BuildRequest(environment, 8, lambda _: None))
    message = str(failed.value)
    assert message.startswith("The setup script failed with exit code 3.")
    assert message.endswith("first\nthe mirror is down")
    assert not build_folder(tmp_path, environment.uuid, 8).exists()
    assert not abandoned.exists()


async def test_a_cancelled_build_leaves_no_folder_and_no_process(tmp_path: Path) -> None:
    pid_file = tmp_path / "sleeper.pid"
    environment = create_environment(
        tmp_path,
        name="Slow",
        setup_script=f'sleep 300 &\necho $! > "{pid_file}"\necho sleeping\nwait\n',
    )
    backend = LocalBackend(sdk_parent=tmp_path / "sdk", grace_period=1.0)
    log: list[str] = []
    building = asyncio.ensure_future(backend.build(BuildRequest(environment, 1, log.append)))
    while "sleeping" not in "".join(log):
        assert not building.done(), "".join(log)
        await asyncio.sleep(0.05)
    building.cancel()
    with pytest.raises(asyncio.CancelledError):
        await building
    assert not build_folder(tmp_path, environment.uuid, 1).exists()
    assert not _is_running(int(pid_file.read_text()))


def _is_running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


async def test_a_removed_build_is_no_longer_present(built: Built, tmp_path: Path) -> None:
    copy = tmp_path / "project" / ".orchest" / "venvs" / "x" / "1"
    shutil.copytree(built.venv, copy, symlinks=True)
    other = replace(built.built, project_dir=tmp_path / "project", reference=str(copy))
    assert await built.backend.is_present(other)
    outside = replace(other, reference=str(tmp_path))  # never removes what is not a venv
    await built.backend.remove(outside)
    assert tmp_path.is_dir()
    await built.backend.remove(other)
    assert not copy.exists() and not copy.parent.exists()
    assert not await built.backend.is_present(other)
