"""A real project on disk and a way to run code in it as a pipeline step, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from jupyter_orchest.sdk import interactive_outputs_dir, step_environment

PIPELINE_UUID = "0b1c2d3e-0000-4000-8000-000000000001"
PIPELINE_PATH = "flows/main.orchest"


class Project:
    """A project folder with one pipeline file, whose steps run as subprocesses."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.data.mkdir(parents=True)
        self.outputs = Path(interactive_outputs_dir(root, PIPELINE_UUID))
        self.outputs.mkdir(parents=True)

    @staticmethod
    def step(uuid: str, title: str, parents: Sequence[str] = (), **params: Any) -> dict[str, Any]:
        """A step of the pipeline file, as Orchest writes one."""
        return {
            "uuid": uuid,
            "title": title,
            "file_path": f"{uuid}.py",
            "incoming_connections": list(parents),
            "environment": "",
            "kernel": {"name": "python", "display_name": "Python 3"},
            "parameters": params,
            "meta_data": {"hidden": False, "position": [0, 0]},
        }

    def write_pipeline(self, *steps: dict[str, Any], **parameters: Any) -> None:
        doc = {
            "name": "sdk test",
            "uuid": PIPELINE_UUID,
            "version": "1.0.0",
            "settings": {},
            "parameters": parameters,
            "services": {},
            "steps": {step["uuid"]: step for step in steps},
        }
        path = self.root / PIPELINE_PATH
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=4))

    def env(self, step_uuid: str, parameters_file: Path | None = None) -> dict[str, str]:
        # Nothing of the test runner's own ORCHEST_* variables may leak into the step.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("ORCHEST_")}
        return inherited | step_environment(
            self.root,
            PIPELINE_PATH,
            PIPELINE_UUID,
            step_uuid,
            "run-1",
            self.outputs,
            self.data,
            parameters_file,
        )

    def run(
        self,
        step_uuid: str,
        code: str,
        *,
        env: Mapping[str, str] | None = None,
        parameters_file: Path | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``code`` with the venv's Python as step ``step_uuid`` (env overrides the step's)."""
        result = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            cwd=self.root,
            env=dict(env) if env is not None else self.env(step_uuid, parameters_file),
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check:
            assert result.returncode == 0, result.stderr
        return result

    def run_json(self, step_uuid: str, code: str, **kwargs: Any) -> Any:
        """Run ``code``, which prints one JSON document last, and return that document."""
        return json.loads(self.run(step_uuid, code, **kwargs).stdout.splitlines()[-1])

    def fail(self, step_uuid: str, code: str, **kwargs: Any) -> str:
        """Run ``code``, which must fail; return the exception as its traceback ends with it:
        ``module.Class: message``, the message possibly of several lines."""
        result = self.run(step_uuid, code, check=False, **kwargs)
        assert result.returncode != 0, result.stdout
        lines = result.stderr.strip().splitlines()
        frames_end = max((i for i, line in enumerate(lines) if line.startswith(" ")), default=-1)
        return "\n".join(lines[frames_end + 1 :])

    def step_dir(self, step_uuid: str) -> Path:
        return self.outputs / step_uuid


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "project")


@pytest.fixture(scope="module")
def module_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A project shared by one test module, for outputs that are slow to compute."""
    return Project(tmp_path_factory.mktemp("shared") / "project")
