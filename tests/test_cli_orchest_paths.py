"""`jupyter orchest run` of an Orchest project that writes to /data and reads /project-dir:
it runs unchanged, its files land in the project's data folder, and the machine's own /data
is never touched; where mount namespaces are off, it is refused, saying where and why."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_orchest.engine.executors import mount_namespace
from support import DATA_PROJECT_OUTPUT, files_under, write_data_project

JUPYTER_ORCHEST = str(Path(sys.executable).parent / "jupyter-orchest")

pytestmark = [
    pytest.mark.usefixtures("host_orchest_paths"),
    pytest.mark.skipif(bool(mount_namespace.unavailable()), reason=mount_namespace.unavailable()),
]


def orchest_run(
    pipeline: Path,
    backend: str,
    home: Path,
    cli: list[str] | None = None,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """The command line (`cli`, by default `jupyter-orchest`) with a home and a Jupyter data
    folder (database, cache) of the test's own."""
    command = [*(cli or [JUPYTER_ORCHEST]), "run", str(pipeline), "--environment-backend", backend]
    variables = {**os.environ, "HOME": str(home), "JUPYTER_DATA_DIR": str(home / "jupyter"), **env}
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=variables)


@pytest.mark.parametrize("backend", ["local", "none"])
def test_an_orchest_project_runs_unchanged(tmp_path: Path, backend: str) -> None:
    pipeline = write_data_project(tmp_path / "project")
    done = orchest_run(pipeline, backend, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert files_under(tmp_path / "project" / "data") == DATA_PROJECT_OUTPUT


NOBODY = 65534


def python_for_nobody(folder: Path, nobody: list[str]) -> str:
    """This Python, as the user nobody can run it: itself, or (when it lives where nobody
    may not go, as a Python installed in root's home does) a virtual environment of the
    system's Python of the same version with this one's packages on its path."""
    runs = [*nobody, "/bin/sh", "-c", 'exec "$0" -c pass', sys.executable]
    if subprocess.run(runs, capture_output=True).returncode == 0:
        return sys.executable
    system = Path(f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}")
    if not system.is_file():
        pytest.skip(f"neither this Python nor {system} can be run by the user nobody")
    venv = folder / "venv"
    subprocess.run([system, "-m", "venv", "--without-pip", venv], check=True)
    packages = next(venv.glob("lib/python*/site-packages"))
    ours = next(Path(sys.prefix).glob("lib/python*/site-packages"))
    (packages / "ours.pth").write_text(f"import site; site.addsitedir({str(ours)!r})\n")
    return str(venv / "bin" / "python")


@pytest.mark.skipif(os.geteuid() != 0, reason="run by another user, the test above shows it")
def test_a_user_other_than_root_runs_it_too(open_tmp_path: Path) -> None:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is not installed")
    nobody = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    python = python_for_nobody(open_tmp_path, nobody)
    project, home = open_tmp_path / "project", open_tmp_path / "home"
    pipeline = write_data_project(project)
    home.mkdir()
    for path in [home, project, *project.rglob("*")]:
        os.chown(path, NOBODY, NOBODY)
    cli = [*nobody, python, "-m", "jupyter_orchest.cli"]
    done = orchest_run(pipeline, "none", home, cli)
    assert done.returncode == 0, done.stdout + done.stderr
    data = project / "data"
    assert files_under(data) == DATA_PROJECT_OUTPUT
    assert {path.stat().st_uid for path in data.rglob("*")} == {NOBODY}


def test_without_namespaces_the_run_is_refused_saying_where(tmp_path: Path) -> None:
    pipeline = write_data_project(tmp_path / "project")
    done = orchest_run(pipeline, "local", tmp_path, **{mount_namespace.SWITCH: "0"})
    assert done.returncode == 1, done.stdout + done.stderr
    reason = f"(mount namespaces are not available: turned off by {mount_namespace.SWITCH}=0)"
    for file, lines in {
        "load.ipynb": ['cell 2, line 1: with open("/project-dir/y.txt") as file:'],
        "fetch.py": ['line 17: fetch_housing(data_home="/data")'],
        "report.sh": ["line 2: cp /project-dir/y.txt /data/y-copy.txt"],
    }.items():
        assert f"{file} uses /data or /project-dir, which steps cannot see on this machine" in (
            done.stdout
        )
        for line in lines:
            assert f"  {line}\n" in done.stdout
    assert done.stdout.count(reason) == 3
    assert "Read the folders from the variables ORCHEST_DATA_DIR" in done.stdout
    assert not (tmp_path / "project" / "data").exists()
    assert not (tmp_path / "project" / ".orchest" / "venvs").exists()  # nothing was built
