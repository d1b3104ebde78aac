"""One virtual environment per competitor, made with uv, outside the repository.

An environment is made once and reused while its requirements stay the same; how long it took
to install and how big it is are recorded next to it, so the report can show them on every run.
"""

import json
import os
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

RECORD_FILE = "bench-install.json"


@dataclass(frozen=True)
class EnvSpec:
    name: str
    requirements: tuple[str, ...]
    report_versions: tuple[str, ...]
    """Distributions whose versions the report names."""


PAPERMILL = EnvSpec("papermill", ("papermill", "ipykernel"), ("papermill", "ipykernel"))
ELYRA = EnvSpec("elyra", ("elyra", "ipykernel"), ("elyra", "papermill", "ipykernel"))
PLOOMBER = EnvSpec("ploomber", ("ploomber", "ipykernel"), ("ploomber", "papermill", "ipykernel"))
COMPETITOR_ENVS = (PAPERMILL, ELYRA, PLOOMBER)


@dataclass
class Install:
    """What making one environment took, or why it could not be made."""

    name: str
    requirements: list[str]
    ok: bool
    seconds: float = 0.0
    size_bytes: int = 0
    packages: int = 0
    versions: dict[str, str] = field(default_factory=dict)
    error: str = ""


class Environments:
    def __init__(self, root: Path, uv: str, python: str) -> None:
        self.root = root
        self.uv = uv
        self.python = python

    def path(self, spec: EnvSpec) -> Path:
        return self.root / spec.name

    def bin(self, spec: EnvSpec, executable: str) -> Path:
        return self.path(spec) / "bin" / executable

    def existing(self, spec: EnvSpec) -> Install | None:
        """The record of an environment made earlier for the same requirements, if any."""
        record_path = self.path(spec) / RECORD_FILE
        if not record_path.is_file():
            return None
        record = Install(**json.loads(record_path.read_text()))
        return record if record.ok and record.requirements == list(spec.requirements) else None

    def make(self, spec: EnvSpec) -> Install:
        """Make the environment for `spec` from scratch, timing it."""
        venv = self.path(spec)
        if venv.exists():
            shutil.rmtree(venv)
        venv.parent.mkdir(parents=True, exist_ok=True)
        record = self._install(spec, venv)
        if record.ok:
            (venv / RECORD_FILE).write_text(json.dumps(asdict(record), indent=2) + "\n")
        return record

    def _install(self, spec: EnvSpec, venv: Path) -> Install:
        started = time.perf_counter()
        commands = [
            [self.uv, "venv", "--quiet", "--python", self.python, str(venv)],
            [
                self.uv,
                "pip",
                "install",
                "--quiet",
                "--python",
                str(venv / "bin" / "python"),
                *spec.requirements,
            ],
        ]
        for argv in commands:
            completed = subprocess.run(argv, capture_output=True, text=True, check=False)
            if completed.returncode != 0:
                return Install(
                    name=spec.name,
                    requirements=list(spec.requirements),
                    ok=False,
                    seconds=time.perf_counter() - started,
                    error=_tail(completed.stderr or completed.stdout),
                )
        seconds = time.perf_counter() - started
        installed = self._installed(venv)
        return Install(
            name=spec.name,
            requirements=list(spec.requirements),
            ok=True,
            seconds=round(seconds, 1),
            size_bytes=tree_size(venv),
            packages=len(installed),
            versions={name: installed.get(name, "?") for name in spec.report_versions},
        )

    def _installed(self, venv: Path) -> dict[str, str]:
        argv = [
            self.uv,
            "pip",
            "list",
            "--format",
            "json",
            "--python",
            str(venv / "bin" / "python"),
        ]
        listing = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        return {entry["name"].lower(): entry["version"] for entry in json.loads(listing)}


def tree_size(root: Path) -> int:
    """Bytes in the files under `root`, each file counted once however many links it has."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            info = os.lstat(os.path.join(folder, name))
            if (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_size
    return total


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
