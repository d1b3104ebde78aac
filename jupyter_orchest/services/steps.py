"""Which steps of which pipelines run a given file: what `%orchest` in a notebook asks first."""

from pathlib import Path, PurePosixPath
from typing import Any

from ..pipeline.discovery import find_pipelines
from ..pipeline.errors import PipelineValidationError
from ..sdk.environment import interactive_outputs_dir
from .errors import BadRequest, OrchestError
from .pipelines import PipelineService


def steps_running(
    pipelines: PipelineService, file: str, data_dir: Path | None
) -> list[dict[str, Any]]:
    """Every step, in the valid pipelines under the root, whose file is `file` (a path from
    the root, or an absolute path under it), with what a kernel needs to act as that step:
    its project, pipeline and step, and where its parents' last interactive outputs are."""
    target = _under_root(pipelines, file)
    found = []
    for located in find_pipelines(pipelines.root_dir):
        try:
            pipeline, definition = pipelines.read_valid(located.path)
        except (OrchestError, PipelineValidationError):
            continue  # an invalid pipeline cannot run: the magics say nothing about it
        project_dir = pipelines.root_dir / pipeline.project
        pipeline_file = pipelines.root_dir / pipeline.path
        for step in definition["steps"].values():
            if (pipeline_file.parent / step["file_path"]).resolve() != target:
                continue
            found.append(
                {
                    "pipeline_path": pipeline.path,
                    "pipeline_name": definition["name"],
                    "pipeline_uuid": definition["uuid"],
                    "project_dir": str(project_dir),
                    "pipeline_in_project": pipeline_file.relative_to(project_dir).as_posix(),
                    "step_uuid": step["uuid"],
                    "title": step["title"],
                    "parents": list(step.get("incoming_connections", [])),
                    "parameters": step.get("parameters", {}),
                    "outputs_dir": interactive_outputs_dir(project_dir, definition["uuid"]),
                    "data_dir": str(data_dir or project_dir / "data"),
                }
            )
    return found


def _under_root(pipelines: PipelineService, file: str) -> Path:
    path = Path(file)
    if path.is_absolute():
        try:
            file = PurePosixPath(path.resolve().relative_to(pipelines.root_dir)).as_posix()
        except (OSError, ValueError):
            raise BadRequest(f"'{file}' is not under the server's root folder.") from None
    return pipelines.resolve(file)
