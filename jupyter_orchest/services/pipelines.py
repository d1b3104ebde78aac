"""Pipeline files under the server's root folder: list, read, create, update, delete.

Paths are API paths: relative to the server's root folder, with `/` separators, as in
Jupyter's contents API. Every path is checked to stay inside the root folder.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..environments.definition import environment_issues
from ..pipeline import (
    PipelineValidationError,
    ValidationIssue,
    dump_definition,
    find_pipelines,
    folder_in_project,
    new_definition,
    parse_definition,
    project_folder,
    validate_definition,
)
from .atomic import create_exclusive, write_atomic
from .errors import BadRequest, NotFound, OrchestError, StorageError

PIPELINE_SUFFIX = ".orchest"
MAX_NAME_LENGTH = 255


@dataclass(frozen=True)
class PipelineFile:
    """A pipeline file as read from disk, with what is wrong with it, if anything."""

    path: str
    project: str
    definition: dict[str, Any] | None
    issues: list[ValidationIssue] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.definition is not None and not self.issues

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "project": self.project,
            "definition": self.definition,
            "valid": self.valid,
            "issues": [issue.to_json() for issue in self.issues],
        }

    def summary(self) -> dict[str, Any]:
        definition = self.definition or {}
        name, uuid = definition.get("name"), definition.get("uuid")
        return {
            "path": self.path,
            "project": self.project,
            "name": name if isinstance(name, str) else PurePosixPath(self.path).stem,
            "uuid": uuid if isinstance(uuid, str) else None,
            "valid": self.valid,
        }


def file_stem_for(name: str) -> str:
    """A file name stem for a pipeline name: `My pipeline` -> `my-pipeline`."""
    stem = re.sub(r"[^\w.-]+", "-", name.strip().lower()).strip("-.")
    return stem or "pipeline"


class PipelineService:
    """All pipeline file operations, confined to one root folder."""

    def __init__(self, root_dir: Path) -> None:
        self.root_dir = root_dir

    def list_pipelines(self) -> list[dict[str, Any]]:
        summaries = []
        for found in find_pipelines(self.root_dir):
            try:
                summaries.append(self.read(found.path).summary())
            except OrchestError:
                continue  # e.g. a symlink out of the root folder: not served, so not listed
        return summaries

    def read(self, path: str) -> PipelineFile:
        file = self._existing_pipeline(path)
        api_path, project, pipeline_dir = self._locate(file)
        try:
            definition = parse_definition(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotFound(f"There is no pipeline file '{path}'.") from None
        except OSError as error:
            raise StorageError(f"Cannot read '{path}': {error.strerror}.") from None
        except UnicodeDecodeError as error:
            issue = ValidationIssue(
                pointer="",
                message=f"The file is not UTF-8 text ({error.reason} at byte {error.start}).",
                rule="invalid-json",
                step=None,
            )
            return PipelineFile(api_path, project, None, [issue])
        except PipelineValidationError as error:
            return PipelineFile(api_path, project, None, error.issues)
        issues = self._issues(definition, project, pipeline_dir)
        return PipelineFile(api_path, project, definition, issues)

    def read_valid(self, path: str) -> tuple[PipelineFile, dict[str, Any]]:
        """The pipeline file and its definition; PipelineValidationError unless it is valid."""
        pipeline = self.read(path)
        if pipeline.definition is None or pipeline.issues:
            raise PipelineValidationError(pipeline.issues)
        return pipeline, pipeline.definition

    def uuid_of(self, path: str) -> str | None:
        """The uuid of the pipeline in this file, or None if the file does not give one."""
        uuid = (self.read(path).definition or {}).get("uuid")
        return uuid if isinstance(uuid, str) else None

    def create(self, folder: str, name: object) -> PipelineFile:
        if not isinstance(name, str) or not name.strip():
            raise BadRequest("A pipeline needs a name: give a non-empty `name`.")
        if len(name) > MAX_NAME_LENGTH:
            raise BadRequest(f"The name is too long: at most {MAX_NAME_LENGTH} characters.")
        directory = self.resolve(folder)
        if not directory.is_dir():
            raise NotFound(f"The folder '{folder}' does not exist.")
        text = dump_definition(new_definition(name.strip()))
        stem = file_stem_for(name)
        for attempt in range(1000):
            candidate = directory / f"{stem}{f'-{attempt}' if attempt else ''}{PIPELINE_SUFFIX}"
            try:
                create_exclusive(candidate, text)
            except FileExistsError:
                continue
            except OSError as error:
                message = f"Cannot create a pipeline in '{folder}': {error.strerror}."
                raise StorageError(message) from None
            return self.read(self.api_path(candidate))
        raise BadRequest(f"Too many pipelines named '{stem}' in '{folder}'; choose another name.")

    def update(self, path: str, definition: object) -> PipelineFile:
        file = self._existing_pipeline(path)
        _, project, pipeline_dir = self._locate(file)
        issues = self._issues(definition, project, pipeline_dir)
        if issues:
            raise PipelineValidationError(issues)
        assert isinstance(definition, dict)  # a valid definition is a JSON object
        try:
            write_atomic(file, dump_definition(definition))
        except OSError as error:
            raise StorageError(
                f"Cannot save '{path}': {error.strerror}. The file on disk was not changed."
            ) from None
        return self.read(path)

    def delete(self, path: str) -> None:
        try:
            self._existing_pipeline(path).unlink()
        except FileNotFoundError:
            raise NotFound(f"There is no pipeline file '{path}'.") from None
        except OSError as error:
            raise StorageError(f"Cannot delete '{path}': {error.strerror}.") from None

    def _existing_pipeline(self, path: str) -> Path:
        if not path.endswith(PIPELINE_SUFFIX):
            raise BadRequest(f"'{path}' is not a pipeline file: its name must end in .orchest.")
        file = self.resolve(path)
        if not file.is_file():
            raise NotFound(f"There is no pipeline file '{path}'.")
        return file

    def resolve(self, path: str) -> Path:
        """The real location of an API path, refusing any path that leaves the root."""
        relative = PurePosixPath(path.strip("/"))
        if any(part == ".." or part.startswith(".") for part in relative.parts):
            raise BadRequest(f"'{path}' is not allowed: hidden folders and '..' are refused.")
        try:
            resolved = (self.root_dir / relative).resolve()
        except (OSError, ValueError) as error:
            raise BadRequest(f"'{path}' is not a valid path: {error}.") from None
        if not resolved.is_relative_to(self.root_dir):
            raise BadRequest(f"'{path}' leads outside the server's root folder.")
        return resolved

    def api_path(self, file: Path) -> str:
        relative = file.relative_to(self.root_dir).as_posix()
        return "" if relative == "." else relative

    def _issues(self, definition: object, project: str, pipeline_dir: str) -> list[ValidationIssue]:
        """What is wrong with the definition, in itself and in its project (e.g. a step that
        names an environment the project does not have)."""
        issues = validate_definition(definition, pipeline_dir=pipeline_dir)
        if isinstance(definition, dict):
            issues += environment_issues(definition, self.root_dir / project)
        return sorted(issues, key=lambda issue: (issue.pointer, issue.rule, issue.message))

    def _locate(self, file: Path) -> tuple[str, str, str]:
        """The file's API path, its project's API path, and its folder within the project."""
        project = project_folder(file, self.root_dir)
        return self.api_path(file), self.api_path(project), folder_in_project(file, project)
