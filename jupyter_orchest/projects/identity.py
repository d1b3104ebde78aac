"""A project's uuid: what Orchest's database gave each project, and steps see as
`ORCHEST_PROJECT_UUID`.

Here a project is a folder, so its uuid belongs to the folder: made the first time it is
asked for and kept in the project's private folder (`.orchest/private/project.json`), it
stays the same when the folder moves or is renamed, and a clone or a copy made without the
private folder gets its own. A job's runs, which work in copies of the project, have the
uuid of the project they were copied from. A folder that cannot be written to has a uuid
derived from its path, stable as long as it stays where it is.
"""

import json
import uuid
from pathlib import Path

from ..sdk.environment import (
    INTERACTIVE,
    NONINTERACTIVE,
    PIPELINE_PATH,
    PIPELINE_UUID,
    interactive_session_uuid,
    session_environment,
)
from .private import create_private, ensure_private_dir, private_dir

PROJECT_FILE = "project.json"


def project_uuid(project_dir: Path) -> str:
    """See the module's docs."""
    file = private_dir(project_dir) / PROJECT_FILE
    try:
        return _uuid_in(file.read_bytes())
    except FileNotFoundError:
        pass
    except (OSError, ValueError):
        return _derived(project_dir)  # unreadable or edited into nonsense: still a run
    try:
        ensure_private_dir(project_dir)
        made = json.dumps({"uuid": str(uuid.uuid4())}, indent=4).encode("utf-8")
        return _uuid_in(create_private(file, made))
    except (OSError, ValueError):
        return _derived(project_dir)


def session_variables(
    project_dir: Path,
    pipeline_file: Path,
    pipeline_uuid: str,
    run_id: str | None = None,
    job: tuple[str, int] | None = None,
) -> dict[str, str]:
    """What Orchest tells steps and services about their pipeline and session: the
    pipeline's interactive session (no `run_id`), or the run's own (a job's run, with the
    job's uuid and the run's combination number as `job`; a run from the command line)."""
    project = project_uuid(project_dir)
    if run_id is None:
        session = interactive_session_uuid(project, pipeline_uuid)
        variables = session_environment(project, session, INTERACTIVE)
    else:
        variables = session_environment(project, run_id, NONINTERACTIVE, job)
    variables[PIPELINE_UUID] = pipeline_uuid
    variables[PIPELINE_PATH] = pipeline_file.relative_to(project_dir).as_posix()
    return variables


def _uuid_in(data: bytes) -> str:
    parsed = json.loads(data)
    found = parsed.get("uuid") if isinstance(parsed, dict) else None
    if not isinstance(found, str):
        raise ValueError("no uuid")
    return str(uuid.UUID(found))


def _derived(project_dir: Path) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, project_dir.resolve().as_uri()))
