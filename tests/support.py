"""Helpers shared by the tests: pipelines of real steps written into temporary projects."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_orchest.pipeline import dump_definition


def make_step(uuid: str, file_path: str, parents: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "uuid": uuid,
        "title": uuid.capitalize(),
        "file_path": file_path,
        "incoming_connections": parents,
        "environment": "",
        "kernel": {"name": "python", "display_name": "Python 3"},
        "parameters": {},
        "meta_data": {"hidden": False, "position": [0, 0]},
        **extra,
    }


WritePipeline = Callable[..., Path]


def pipeline_writer(project: Path) -> WritePipeline:
    """Writes step files ({name: source}) and a pipeline of them; returns the pipeline file."""

    def write(
        steps: list[dict[str, Any]],
        files: dict[str, str],
        parameters: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
    ) -> Path:
        for name, source in files.items():
            (project / name).write_text(source)
        definition = {
            "name": "test",
            "uuid": "pipeline-1",
            "version": "1.0.0",
            "settings": settings or {},
            "parameters": parameters or {},
            "services": {},
            "steps": {step["uuid"]: step for step in steps},
        }
        file = project / "test.orchest"
        file.write_text(dump_definition(definition))
        return file

    return write


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


EXAMPLE_PROJECT = Path(__file__).resolve().parents[1] / "examples" / "quickstart"
FINISHED_RUN_STATES = ("SUCCESS", "FAILURE", "ABORTED")
