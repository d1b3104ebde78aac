"""Environments of the projects under the server's root folder: list, create, edit, delete,
build, follow and cancel builds, and the kernel a notebook's step runs with.

Projects and notebooks are named by API paths (relative to the root folder), resolved as the
pipeline service resolves them, so no path leaves the root folder.
"""

import contextlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from ..environments.builds import Builds, EnvironmentInUse, build_log_path
from ..environments.definition import (
    CHANGEABLE,
    EnvironmentNotFound,
    InvalidProperties,
    MalformedEnvironment,
    create_environment,
    delete_environment,
    ensure_default_environment,
    environment_dir,
    read_environment,
    scan_environments,
    update_environment,
)
from ..environments.kernelspecs import display_name
from ..environments.model import BackendUnavailable, Environment
from ..pipeline import PipelineValidationError, find_pipelines, parse_definition, project_folder
from ..store import BuildRecord
from .errors import BadRequest, Conflict, NotFound, StorageError
from .pipelines import PipelineService


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def build_to_json(build: BuildRecord, project: str) -> dict[str, Any]:
    return {
        "project": project,
        "environment_uuid": build.environment_uuid,
        "number": build.number,
        "backend": build.backend,
        "state": build.state,
        "message": build.message,
        "reference": build.reference,
        "fingerprint": build.fingerprint,
        "removed": build.removed_at is not None,
        "created_at": _iso(build.created_at),
        "started_at": _iso(build.started_at),
        "finished_at": _iso(build.finished_at),
    }


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """The environment layer's errors as the service's, which handlers turn into replies."""
    try:
        yield
    except EnvironmentNotFound as error:
        raise NotFound(str(error)) from None
    except MalformedEnvironment as error:
        raise Conflict(error.message) from None
    except InvalidProperties as error:
        raise BadRequest(str(error)) from None
    except BackendUnavailable as error:
        raise Conflict(str(error)) from None
    except OSError as error:
        raise StorageError(f"The environment's files cannot be written: {error}.") from None


class EnvironmentService:
    def __init__(self, pipelines: PipelineService, builds: Builds) -> None:
        self.pipelines, self.builds = pipelines, builds

    @property
    def root_dir(self) -> Path:
        return self.pipelines.root_dir

    # Definitions

    async def list_environments(self, project: str) -> dict[str, Any]:
        """The project's environments (the default one is made if it has none), and what is
        wrong with those that cannot be read."""
        folder = self._project(project)
        with _user_errors():
            ensure_default_environment(folder)
        environments, problems = scan_environments(folder)
        backend = await self._backend_name()
        return {
            "environments": [self._to_json(e, project, backend) for e in environments],
            "problems": [{"uuid": p.uuid, "message": p.message} for p in problems],
        }

    async def get(self, project: str, uuid: str) -> dict[str, Any]:
        environment = self._environment(project, uuid)
        return self._to_json(environment, project, await self._backend_name())

    async def create(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        folder = self._project(project)
        _check_fields(body, CHANGEABLE)
        if "name" not in body:
            raise BadRequest("An environment needs a name: give a non-empty `name`.")
        with _user_errors():
            environment = create_environment(folder, **body)
        return self._to_json(environment, project, await self._backend_name())

    async def update(self, project: str, uuid: str, body: dict[str, Any]) -> dict[str, Any]:
        environment = self._environment(project, uuid)
        _check_fields(body, CHANGEABLE)
        with _user_errors():
            changed = update_environment(environment, body)
        if changed.name != environment.name:
            self.builds.kernelspecs.rename(
                changed.kernel_name,
                changed.project_dir,
                display_name(changed.name, changed.project_dir),
            )
        return self._to_json(changed, project, await self._backend_name())

    async def delete(self, project: str, uuid: str) -> None:
        """Delete the environment with its builds; refused while steps run in it."""
        environment = self._environment(project, uuid)
        try:
            await self.builds.remove_environment(environment.project_dir, uuid)
        except EnvironmentInUse:
            raise Conflict(
                f"The environment {environment.name!r} is in use by a running step: wait for "
                "its run to finish, or cancel it, then delete the environment."
            ) from None
        with _user_errors():
            delete_environment(environment.project_dir, uuid)

    # Builds

    async def start_build(self, project: str, uuid: str) -> tuple[dict[str, Any], bool]:
        """Build the environment (or join the build under way): the build, and whether it
        was started by this request."""
        folder = self._project(project)
        with _user_errors():
            record, started = await self.builds.start(folder, uuid)
        return build_to_json(record, project), started

    def list_builds(self, project: str, uuid: str) -> list[dict[str, Any]]:
        environment = self._environment(project, uuid)
        records = self.builds.store.list_builds(str(environment.project_dir), uuid)
        return [build_to_json(record, project) for record in records]

    def get_build(self, project: str, uuid: str, number: int) -> dict[str, Any]:
        return build_to_json(self._build(project, uuid, number), project)

    def build_log(self, project: str, uuid: str, number: int, offset: int = 0) -> str:
        build = self._build(project, uuid, number)
        try:
            with open(build_log_path(Path(build.project_dir), uuid, number), "rb") as file:
                file.seek(max(0, offset))
                return file.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""  # not started yet

    def cancel_build(self, project: str, uuid: str, number: int) -> dict[str, Any]:
        build = self._build(project, uuid, number)
        if not self.builds.cancel(Path(build.project_dir), uuid, number):
            raise Conflict(f"Build {number} is not under way ({build.state}): nothing to cancel.")
        return build_to_json(self._build(project, uuid, number), project)

    # Kernels

    async def kernel_for(self, path: str) -> dict[str, Any]:
        """The kernel of the environment of the step that this notebook is: its JupyterLab
        kernel name, or None when the notebook is no step or its environment is not built."""
        notebook = self.pipelines.resolve(path)
        if not notebook.is_file():
            raise NotFound(f"There is no file '{path}'.")
        project = project_folder(notebook, self.root_dir)
        uuid = _step_environment(project, notebook)
        none: dict[str, Any] = {"kernel_name": None, "environment": None}
        if uuid is None:
            return none
        try:
            environment = (
                read_environment(project, uuid) if uuid else scan_environments(project)[0][0]
            )
        except (EnvironmentNotFound, MalformedEnvironment, IndexError):
            return none
        name = environment.kernel_name
        built = self.builds.kernelspecs.owned_by(name, project)
        api_project = self.pipelines.api_path(project)
        return {
            "kernel_name": name if built else None,
            "environment": self._to_json(environment, api_project, await self._backend_name()),
        }

    # Internals

    def _project(self, project: str) -> Path:
        folder = self.pipelines.resolve(project)
        if not folder.is_dir():
            raise NotFound(f"The folder '{project}' does not exist.")
        return folder

    def _environment(self, project: str, uuid: str) -> Environment:
        folder = self._project(project)
        with _user_errors():
            return read_environment(folder, uuid)

    def _build(self, project: str, uuid: str, number: int) -> BuildRecord:
        folder = self._project(project)
        with _user_errors():
            environment_dir(folder, uuid)  # refuses uuids that are no folder name
        build = self.builds.store.get_build(str(folder), uuid, number)
        if build is None:
            raise NotFound(f"The environment {uuid!r} has no build {number}.")
        return build

    async def _backend_name(self) -> str | None:
        try:
            return (await self.builds.backends.get()).name
        except BackendUnavailable:
            return None

    def _to_json(
        self, environment: Environment, project: str, backend: str | None
    ) -> dict[str, Any]:
        project_dir = str(environment.project_dir)
        builds = self.builds.store.list_builds(project_dir, environment.uuid)
        current = (
            self.builds.store.latest_success(
                project_dir, environment.uuid, backend, self.builds.inputs_hash(environment)
            )
            if backend
            else None
        )
        return {
            "uuid": environment.uuid,
            "project": project,
            "name": environment.name,
            "base_image": environment.base_image,
            "language": environment.language,
            "gpu_support": environment.gpu_support,
            "setup_script": environment.setup_script,
            "kernel_name": environment.kernel_name,
            "image": self.builds.image_for(environment),
            "built": current is not None,
            "latest_build": build_to_json(builds[0], project) if builds else None,
        }


def _check_fields(body: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(
            f"Unknown properties: {', '.join(unknown)}. An environment has "
            f"{', '.join(sorted(allowed))}."
        )


def _step_environment(project: Path, notebook: Path) -> str | None:
    """The environment named by the first step (of the project's pipelines) whose file is the
    notebook; None when it is no step."""
    for found in find_pipelines(project):
        pipeline_file = project / found.path
        try:
            definition = parse_definition(pipeline_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, PipelineValidationError):
            continue
        steps = definition.get("steps")
        for step in steps.values() if isinstance(steps, dict) else ():
            file_path = step.get("file_path") if isinstance(step, dict) else None
            if not isinstance(file_path, str) or not file_path:
                continue
            with contextlib.suppress(OSError, ValueError):
                if (pipeline_file.parent / file_path).resolve() == notebook:
                    environment = step.get("environment")
                    return environment if isinstance(environment, str) else ""
    return None
