"""Environment variables of projects and pipelines (see `projects.variables`), read and
replaced over REST. A project is named by its folder, a pipeline by its file (whose project
is then the pipeline's), both as API paths.

Values are answered as they are: the caller is the user who set them, authenticated. What
the server keeps of runs never holds them in clear (see `engine.masking`, and the digests in
provenance).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..projects import (
    MalformedVariables,
    VariablesError,
    check_variables,
    read_variables,
    write_variables,
)
from .errors import BadRequest, Conflict, InvalidField, NotFound, StorageError
from .pipelines import PipelineService

PROJECT_FIELD = "project_env_variables"
PIPELINE_FIELD = "pipeline_env_variables"


@dataclass(frozen=True)
class VariablesUpdate:
    """A PUT's body: the variables that replace the project's, the pipeline's, or both."""

    project: dict[str, str] | None
    pipeline: dict[str, str] | None

    @classmethod
    def from_json(cls, body: dict[str, Any], for_pipeline: bool) -> "VariablesUpdate":
        known = (PROJECT_FIELD, PIPELINE_FIELD) if for_pipeline else (PROJECT_FIELD,)
        for name in body:
            if name not in known:
                raise InvalidField(
                    name,
                    f"`{name}` is not a field of this request: send "
                    f"{' and/or '.join(f'`{k}`' for k in known)}"
                    + ("" if for_pipeline else " (name a pipeline to set its variables)")
                    + ".",
                )
        try:
            return cls(
                project=_variables(body, PROJECT_FIELD),
                pipeline=_variables(body, PIPELINE_FIELD),
            )
        except VariablesError as error:
            raise InvalidField(error.field, str(error)) from None


def _variables(body: dict[str, Any], field: str) -> dict[str, str] | None:
    return check_variables(body[field], field) if field in body else None


@dataclass(frozen=True)
class _Target:
    project_dir: Path
    project: str
    pipeline_path: str | None = None
    pipeline_uuid: str | None = None


class VariableService:
    def __init__(self, pipelines: PipelineService) -> None:
        self.pipelines = pipelines

    def get(self, pipeline: str | None, project: str | None) -> dict[str, Any]:
        """`pipeline` (a pipeline file) or `project` (a folder): their variables."""
        return self._answer(self._target(pipeline, project))

    def update(
        self, pipeline: str | None, project: str | None, body: dict[str, Any]
    ) -> dict[str, Any]:
        target = self._target(pipeline, project)
        update = VariablesUpdate.from_json(body, for_pipeline=target.pipeline_uuid is not None)
        changed_pipeline = None
        if update.pipeline is not None and target.pipeline_uuid is not None:
            changed_pipeline = (target.pipeline_uuid, update.pipeline)
        try:
            write_variables(target.project_dir, project=update.project, pipeline=changed_pipeline)
        except MalformedVariables as error:
            raise Conflict(str(error)) from None
        except OSError as error:
            raise StorageError(
                f"The variables cannot be saved: {error.strerror or error}. Nothing was changed."
            ) from None
        return self._answer(target)

    def _target(self, pipeline: str | None, project: str | None) -> _Target:
        if (pipeline is None) == (project is None):
            raise BadRequest(
                "Name either a pipeline (`?pipeline=<path>`) or a project (`?project=<folder>`)."
            )
        if project is not None:
            folder = self.pipelines.resolve(project)
            if not folder.is_dir():
                raise NotFound(f"The folder '{project}' does not exist.")
            return _Target(folder, self.pipelines.api_path(folder))
        assert pipeline is not None
        file = self.pipelines.read(pipeline)
        uuid = (file.definition or {}).get("uuid")
        if not isinstance(uuid, str) or not uuid:
            raise Conflict(
                f"The pipeline file '{pipeline}' has no uuid, which its variables are kept "
                "by: fix the file first."
            )
        folder = self.pipelines.root_dir / file.project
        return _Target(folder, file.project, file.path, uuid)

    def _answer(self, target: _Target) -> dict[str, Any]:
        try:
            variables = read_variables(target.project_dir)
        except MalformedVariables as error:
            raise Conflict(str(error)) from None
        answer: dict[str, Any] = {
            "project": target.project,
            PROJECT_FIELD: variables.project,
        }
        if target.pipeline_uuid is not None:
            answer |= {
                "pipeline_path": target.pipeline_path,
                "pipeline_uuid": target.pipeline_uuid,
                PIPELINE_FIELD: variables.pipelines.get(target.pipeline_uuid, {}),
            }
        return answer
