"""The contract between the engine and a running step.

The engine sets these variables for every step it runs (see :func:`step_environment`), empties
the step's outputs folder first (:func:`clear_step_outputs`) and may give the run's parameters
in a file (:func:`write_parameters_file`). The SDK reads the variables on every call rather
than once at import, so that a kernel reused for another step or run only needs its
``os.environ`` updated.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import Any, NamedTuple

from .atomic import write_bytes_atomic
from .errors import StepUUIDResolveError

PROJECT_DIR = "ORCHEST_PROJECT_DIR"
"""Absolute path of the project folder."""
PIPELINE_PATH = "ORCHEST_PIPELINE_PATH"
"""The pipeline file, relative to the project folder (as in Orchest)."""
PIPELINE_UUID = "ORCHEST_PIPELINE_UUID"
STEP_UUID = "ORCHEST_STEP_UUID"
RUN_UUID = "ORCHEST_RUN_UUID"
OUTPUTS_DIR = "ORCHEST_OUTPUTS_DIR"
"""Absolute folder with one subfolder of outputs per step, named by the step's uuid."""
DATA_DIR = "ORCHEST_DATA_DIR"
"""The user's data folder (``/data`` in Orchest)."""
PARAMETERS_FILE = "ORCHEST_PARAMETERS_FILE"
"""Optional: a JSON file with the run's effective parameters (see ``write_parameters_file``)."""

# What Orchest told steps about their run (see ``session_environment``).
PROJECT_UUID = "ORCHEST_PROJECT_UUID"
SESSION_UUID = "ORCHEST_SESSION_UUID"
SESSION_TYPE = "ORCHEST_SESSION_TYPE"
"""``interactive`` (a run of the pipeline in JupyterLab) or ``noninteractive`` (a job's run,
a run from the command line)."""
JOB_UUID = "ORCHEST_JOB_UUID"
"""Only in a job's runs: the job; ``ORCHEST_RUN_UUID`` (and ``ORCHEST_SESSION_UUID``) say
which of its runs, ``ORCHEST_JOB_RUN_NUMBER`` which of its parameter combinations."""
JOB_RUN_NUMBER = "ORCHEST_JOB_RUN_NUMBER"
INTERACTIVE = "interactive"
NONINTERACTIVE = "noninteractive"

REQUIRED_VARIABLES = (
    PROJECT_DIR,
    PIPELINE_PATH,
    PIPELINE_UUID,
    STEP_UUID,
    RUN_UUID,
    OUTPUTS_DIR,
    DATA_DIR,
)

# Uuids become folder names; allowing only these characters keeps a crafted uuid (in the
# pipeline file or the environment) from naming "..", a separator or an absolute path.
_UUID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,200}")


def check_uuid(uuid: object, what: str = "step uuid") -> str:
    """``uuid`` itself if it is safe to use as a folder name, else StepUUIDResolveError."""
    if not isinstance(uuid, str) or not _UUID_PATTERN.fullmatch(uuid):
        raise StepUUIDResolveError(
            f"{uuid!r} is not a valid {what}: only letters, digits, '-' and '_' are allowed."
        )
    return uuid


class StepEnvironment(NamedTuple):
    """Who the running step is and where its pipeline, parameters and data live."""

    project_dir: str
    pipeline_path: str
    pipeline_uuid: str
    step_uuid: str
    run_uuid: str
    outputs_dir: str
    data_dir: str
    parameters_file: str | None = None

    @property
    def pipeline_file(self) -> str:
        """The pipeline file's absolute path."""
        return os.path.join(self.project_dir, self.pipeline_path)

    def step_outputs_dir(self, step_uuid: str) -> str:
        """The folder holding the outputs of ``step_uuid``, which is checked first."""
        return os.path.join(self.outputs_dir, check_uuid(step_uuid))


def current_step(environ: Mapping[str, str] | None = None) -> StepEnvironment:
    """The running step, from ``environ`` (default: ``os.environ``).

    Raises StepUUIDResolveError, naming the missing variables, when the code does not run as
    a pipeline step (for example a notebook opened outside a pipeline run).
    """
    env = os.environ if environ is None else environ
    missing = [name for name in REQUIRED_VARIABLES if not env.get(name)]
    if missing:
        raise StepUUIDResolveError(
            "This code is not running as a pipeline step, so it has no inputs, outputs or "
            "parameters: run it as part of a pipeline (the variables "
            f"{', '.join(missing)} are not set)."
        )
    step = StepEnvironment(
        project_dir=env[PROJECT_DIR],
        pipeline_path=env[PIPELINE_PATH],
        pipeline_uuid=env[PIPELINE_UUID],
        step_uuid=check_uuid(env[STEP_UUID]),
        run_uuid=env[RUN_UUID],
        outputs_dir=env[OUTPUTS_DIR],
        data_dir=env[DATA_DIR],
        parameters_file=env.get(PARAMETERS_FILE) or None,
    )
    # Relative folders would depend on the step's working directory, which differs per step.
    for name, value in ((PROJECT_DIR, step.project_dir), (OUTPUTS_DIR, step.outputs_dir)):
        if not os.path.isabs(value):
            raise StepUUIDResolveError(f"{name} must be an absolute path, not {value!r}.")
    return step


def get_step_uuid() -> str:
    """The uuid of the running step."""
    return current_step().step_uuid


def get_pipeline_uuid() -> str:
    """The uuid of the running step's pipeline."""
    return current_step().pipeline_uuid


def get_run_uuid() -> str:
    """The uuid of the run the step is part of."""
    return current_step().run_uuid


def step_environment(
    project_dir: str | os.PathLike[str],
    pipeline_path: str | os.PathLike[str],
    pipeline_uuid: str,
    step_uuid: str,
    run_id: str,
    outputs_dir: str | os.PathLike[str],
    data_dir: str | os.PathLike[str],
    parameters_file: str | os.PathLike[str] | None = None,
) -> dict[str, str]:
    """The variables the engine adds to a step's environment.

    ``pipeline_path`` is relative to ``project_dir``; the folders must be absolute. Raises
    ValueError for arguments a step could not use.
    """
    env = {
        PROJECT_DIR: os.fspath(project_dir),
        PIPELINE_PATH: os.fspath(pipeline_path),
        PIPELINE_UUID: pipeline_uuid,
        STEP_UUID: step_uuid,
        RUN_UUID: run_id,
        OUTPUTS_DIR: os.fspath(outputs_dir),
        DATA_DIR: os.fspath(data_dir),
    }
    if parameters_file is not None:
        env[PARAMETERS_FILE] = os.fspath(parameters_file)
    for name in (PROJECT_DIR, OUTPUTS_DIR, DATA_DIR, PARAMETERS_FILE):
        if name in env and not os.path.isabs(env[name]):
            raise ValueError(f"{name} must be an absolute path, not {env[name]!r}.")
    if os.path.isabs(env[PIPELINE_PATH]):
        raise ValueError(f"{PIPELINE_PATH} must be relative to the project folder.")
    for name, value in env.items():
        if not value:
            raise ValueError(f"{name} must not be empty.")
    _check_engine_uuid(step_uuid)
    _check_engine_uuid(pipeline_uuid, "pipeline uuid")
    return env


def interactive_session_uuid(project_uuid: str, pipeline_uuid: str) -> str:
    """The uuid of a pipeline's interactive session, made as Orchest made it."""
    return project_uuid[:18] + pipeline_uuid[:18]


def session_environment(
    project_uuid: str,
    session_uuid: str,
    session_type: str,
    job: tuple[str, int] | None = None,
) -> dict[str, str]:
    """What Orchest told steps about their run: their project, their session (for a
    non-interactive run, as in Orchest, the run itself) and, in a job's run, the job's uuid
    and the number of the run's parameter combination (``job``)."""
    env = {PROJECT_UUID: project_uuid, SESSION_UUID: session_uuid, SESSION_TYPE: session_type}
    if job is not None:
        env[JOB_UUID], env[JOB_RUN_NUMBER] = job[0], str(job[1])
    return env


def interactive_outputs_dir(project_dir: str | os.PathLike[str], pipeline_uuid: str) -> str:
    """Where interactive runs keep step outputs: Orchest's ``.orchest/pipelines/<uuid>/data``."""
    _check_engine_uuid(pipeline_uuid, "pipeline uuid")
    return os.path.join(os.fspath(project_dir), ".orchest", "pipelines", pipeline_uuid, "data")


def clear_step_outputs(
    outputs_dir: str | os.PathLike[str],
    step_uuid: str,
    remove: Callable[[str], None] | None = None,
) -> str:
    """Remove every output of ``step_uuid`` and leave its folder empty; returns the folder.

    The engine calls this before a step runs. The old folder is first renamed away, so that a
    reader sees either all the old outputs or none, never some of them; ``remove`` deletes
    what was renamed away (by default at once; the engine does it in the background).
    """
    _check_engine_uuid(step_uuid)
    import shutil  # only the engine calls this; steps do not pay for the import

    remove = remove or shutil.rmtree
    outputs_dir = os.fspath(outputs_dir)
    folder = os.path.join(outputs_dir, step_uuid)
    os.makedirs(outputs_dir, exist_ok=True)
    doomed_prefix, doomed_suffix = f".{step_uuid}.", ".deleting"
    doomed = os.path.join(outputs_dir, f"{doomed_prefix}{os.urandom(6).hex()}{doomed_suffix}")
    with suppress(FileNotFoundError):
        os.rename(folder, doomed)
    # Also what an earlier call left behind if it was interrupted while deleting.
    for entry in os.listdir(outputs_dir):
        if entry.startswith(doomed_prefix) and entry.endswith(doomed_suffix):
            remove(os.path.join(outputs_dir, entry))
    os.makedirs(folder, exist_ok=True)
    return folder


def write_parameters_file(
    path: str | os.PathLike[str],
    pipeline_parameters: Mapping[str, Any],
    step_parameters: Mapping[str, Mapping[str, Any]],
) -> None:
    """Write a run's effective parameters where ``ORCHEST_PARAMETERS_FILE`` will point.

    ``step_parameters`` maps step uuids to their parameters; steps left out have none. Values
    must be JSON (no NaN or infinity, as in pipeline files); ValueError or TypeError otherwise.
    """
    for uuid in step_parameters:
        _check_engine_uuid(uuid)
    text = json.dumps(
        {
            "pipeline": dict(pipeline_parameters),
            "steps": {uuid: dict(params) for uuid, params in step_parameters.items()},
        },
        indent=1,
        allow_nan=False,
    )
    write_bytes_atomic(os.fspath(path), text.encode("utf-8"))


def _check_engine_uuid(uuid: str, what: str = "step uuid") -> None:
    # The engine passes uuids it was given; a bad one is a ValueError of its arguments.
    try:
        check_uuid(uuid, what)
    except StepUUIDResolveError as error:
        raise ValueError(str(error)) from None
