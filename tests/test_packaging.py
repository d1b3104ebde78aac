"""The wheel is what users install: it must carry and enable both halves of the extension."""

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
LABEXTENSION = REPOSITORY / "jupyter_orchest" / "labextension"


SKIPPED = {".git", ".venv", "node_modules", "playground", "ui-tests", "__pycache__"}


def not_in_a_clone(folder: str, names: list[str]) -> set[str]:
    skipped = SKIPPED & set(names)
    if Path(folder) == LABEXTENSION:
        skipped |= {"install.json"} & set(names)
    return skipped


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (LABEXTENSION / "package.json").exists():
        pytest.fail("the lab extension is not built: run `make install` first")
    # Built from a copy holding only what a clone holds, plus the built lab extension: a
    # development link (`jupyter labextension develop`) leaves install.json in that folder.
    source = tmp_path_factory.mktemp("source") / "repository"
    shutil.copytree(REPOSITORY, source, ignore=not_in_a_clone)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
    )
    (built,) = out.glob("jupyter_orchest-*.whl")
    return built


def test_wheel_ships_the_lab_extension_and_enables_the_server_extension(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    data = next(name.split("/")[0] for name in names if ".data/" in name)
    shared = f"{data}/data/share/jupyter/labextensions/jupyter-orchest"
    assert f"{shared}/package.json" in names
    assert f"{shared}/install.json" in names
    assert any(name.startswith(f"{shared}/static/remoteEntry.") for name in names)
    assert f"{data}/data/etc/jupyter/jupyter_server_config.d/jupyter_orchest.json" in names
    assert "jupyter_orchest/pipeline/pipeline.schema.json" in names
    # The schema's migrations, which a new database is made with.
    assert "jupyter_orchest/store/migrations/env.py" in names
    assert "jupyter_orchest/store/migrations/versions/r0001_baseline.py" in names


def test_installed_wheel_is_listed_as_enabled_and_ok(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    uv = [sys.executable, "-m", "uv"]
    subprocess.run([*uv, "venv", "--quiet", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [*uv, "pip", "install", "--quiet", "--python", str(python), str(wheel), "jupyterlab>=4,<5"],
        check=True,
    )

    # Only the fresh environment counts: no user-level Jupyter configuration or data.
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    env.pop("JUPYTER_PATH", None)
    env.pop("JUPYTER_CONFIG_PATH", None)

    def jupyter(*args: str) -> str:
        done = subprocess.run(
            [str(venv / "bin" / "jupyter"), *args],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)

    servers = jupyter("server", "extension", "list")
    assert "jupyter_orchest enabled" in servers
    assert re.search(r"jupyter_orchest \S+ OK", servers), servers
    labs = jupyter("labextension", "list")
    assert "jupyter-orchest v" in labs and "enabled OK (python, jupyter_orchest)" in labs

    # A new database is made at the schema's newest version, from the installed migrations.
    database = tmp_path / "orchest.db"
    code = (
        "from jupyter_orchest.store import RunStore; from jupyter_orchest.store.schema import "
        "HEAD; from sqlalchemy import text; "
        f"store = RunStore('sqlite:///{database}'); "
        "connection = store.database.engine.connect(); "
        "print(connection.execute(text('SELECT version_num FROM alembic_version')).scalar() "
        "== HEAD)"
    )
    opened = subprocess.run([str(python), "-c", code], capture_output=True, text=True, env=env)
    assert opened.stdout.strip() == "True", opened.stderr
