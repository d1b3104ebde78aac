"""Environment definitions on disk, in Orchest's layout: read, list, create, update, delete.

Each environment is a folder `.orchest/environments/<uuid>/` of its project, holding
`properties.json` (`uuid`, `name`, `base_image`, `language`, `gpu_support`; written as Orchest
writes it: 4-space indent, sorted keys, no final newline; keys this version does not know are
kept) and `setup_script.sh`, the script a build runs. Every write is atomic: a file is
replaced in one rename, and a new environment's folder appears complete or not at all.

A project without any environment gets a default one, "Python 3", the first time its
environments are listed or a run needs one. A step whose `environment` is empty uses its
project's default environment: the first by name.
"""

import json
import re
import shutil
import tempfile
import threading
import uuid as uuids
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..pipeline import ValidationIssue
from ..pipeline._wording import escape_pointer_part, quote, sentence, step_name, step_title
from ..services.atomic import write_atomic
from .model import Environment

ENVIRONMENTS_FOLDER = Path(".orchest") / "environments"
PROPERTIES_FILE = "properties.json"
SETUP_SCRIPT_FILE = "setup_script.sh"
KNOWN_KEYS = frozenset({"uuid", "name", "base_image", "language", "gpu_support"})
REQUIRED_KEYS = ("uuid", "name", "base_image", "language")
"""Keys properties.json must have; `gpu_support` is false when missing."""
CHANGEABLE = frozenset({"name", "base_image", "language", "gpu_support", "setup_script"})

LANGUAGES = ("python", "r", "julia", "javascript")
"""Orchest's environment languages."""
BASE_IMAGES = {
    "python": "orchest/base-kernel-py",
    "r": "orchest/base-kernel-r",
    "julia": "orchest/base-kernel-julia",
    "javascript": "orchest/base-kernel-javascript",
}
"""Orchest's base image for each language: what a new environment starts from."""

DEFAULT_NAME = "Python 3"
DEFAULT_LANGUAGE = "python"
DEFAULT_SETUP_SCRIPT = (
    "#!/bin/bash\n\n"
    "# Runs when the environment is built: install the packages your steps need here,\n"
    "# for example: pip install pandas\n"
)
MAX_NAME_LENGTH = 255

_UUID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,200}")
"""Environment uuids name folders: no separator, no "..", nothing hidden."""

_default_lock = threading.Lock()


class EnvironmentNotFound(Exception):
    """The project has no environment by that uuid; the message says so, for the user."""


class MalformedEnvironment(Exception):
    """An environment's files cannot be used; the message names the file and what to fix."""

    def __init__(self, uuid: str, message: str) -> None:
        super().__init__(message)
        self.uuid = uuid
        self.message = message


class InvalidProperties(ValueError):
    """Properties given for a new or changed environment that cannot be saved."""


def environments_dir(project_dir: Path) -> Path:
    return project_dir / ENVIRONMENTS_FOLDER


def is_valid_uuid(value: object) -> bool:
    return isinstance(value, str) and _UUID_PATTERN.fullmatch(value) is not None


def environment_dir(project_dir: Path, uuid: str) -> Path:
    if not is_valid_uuid(uuid):
        raise EnvironmentNotFound(
            f"{quote(uuid)} is not an environment uuid: "
            "only letters, digits, '-' and '_' are allowed."
        )
    return environments_dir(project_dir) / uuid


def read_environment(project_dir: Path, uuid: str) -> Environment:
    folder = environment_dir(project_dir, uuid)
    if not folder.is_dir():
        raise EnvironmentNotFound(
            f"The project {quote(project_dir.name)} has no environment {quote(uuid)}."
        )
    properties_file = folder / PROPERTIES_FILE
    label = _label(project_dir, properties_file)
    try:
        text = properties_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MalformedEnvironment(
            uuid,
            f"{label} is missing: recreate it (keys uuid, name, base_image, language, "
            "gpu_support) or delete the environment's folder.",
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise MalformedEnvironment(uuid, f"{label} cannot be read: {error}.") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise MalformedEnvironment(
            uuid,
            f"{label} is not valid JSON ({error.msg} at line {error.lineno}, column "
            f"{error.colno}): fix it, or delete the environment's folder.",
        ) from None
    script_file = folder / SETUP_SCRIPT_FILE
    try:
        setup_script = script_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        setup_script = ""  # Orchest always writes one; a missing script installs nothing
    except (OSError, UnicodeDecodeError) as error:
        script_label = _label(project_dir, script_file)
        raise MalformedEnvironment(uuid, f"{script_label} cannot be read: {error}.") from None
    return _from_properties(data, setup_script, project_dir, uuid, label)


def scan_environments(project_dir: Path) -> tuple[list[Environment], list[MalformedEnvironment]]:
    """Every environment of the project, sorted by name (then uuid), and the problems of
    those that cannot be read."""
    environments: list[Environment] = []
    problems: list[MalformedEnvironment] = []
    for uuid in _environment_folders(project_dir):
        try:
            environments.append(read_environment(project_dir, uuid))
        except MalformedEnvironment as problem:
            problems.append(problem)
        except EnvironmentNotFound:
            continue  # removed meanwhile, or a folder name that is no uuid
    environments.sort(key=lambda environment: (environment.name.casefold(), environment.uuid))
    return environments, problems


def ensure_default_environment(project_dir: Path) -> None:
    """Give a project without any environment the default one."""
    with _default_lock:
        if not _environment_folders(project_dir):
            create_environment(project_dir, name=DEFAULT_NAME, language=DEFAULT_LANGUAGE)


def default_environment(project_dir: Path) -> Environment:
    """The environment of steps that name none: the project's first by name."""
    ensure_default_environment(project_dir)
    environments, problems = scan_environments(project_dir)
    if environments:
        return environments[0]
    if problems:
        raise problems[0]
    raise EnvironmentNotFound(f"The project {quote(project_dir.name)} has no environment.")


def resolve_environment(project_dir: Path, uuid: str) -> Environment:
    """The environment a step runs in: the one it names, or the project's default."""
    return read_environment(project_dir, uuid) if uuid else default_environment(project_dir)


def create_environment(
    project_dir: Path,
    *,
    name: str,
    language: str = DEFAULT_LANGUAGE,
    base_image: str | None = None,
    gpu_support: bool = False,
    setup_script: str = DEFAULT_SETUP_SCRIPT,
) -> Environment:
    if base_image is None and language in LANGUAGES:
        base_image = BASE_IMAGES[language]
    environment = Environment(
        uuid=str(uuids.uuid4()),
        name=name,
        base_image=base_image or "",
        language=language,
        gpu_support=gpu_support,
        setup_script=setup_script,
        project_dir=project_dir,
    )
    check_properties(environment)
    parent = environments_dir(project_dir)
    parent.mkdir(parents=True, exist_ok=True)
    # Written in a hidden folder beside its place, then renamed: it appears whole or not at all.
    staging = Path(tempfile.mkdtemp(prefix=f".new-{environment.uuid}-", dir=parent))
    try:
        _write_files(staging, environment)
        staging.rename(parent / environment.uuid)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return environment


def update_environment(environment: Environment, changes: Mapping[str, Any]) -> Environment:
    """The environment with `changes` (any of name, base_image, language, gpu_support,
    setup_script) saved; other keys of its properties.json stay as they are."""
    unknown = sorted(set(changes) - CHANGEABLE)
    if unknown:
        raise InvalidProperties(f"These properties cannot be changed: {', '.join(unknown)}.")
    changed = replace(environment, **changes)
    check_properties(changed)
    folder = environment_dir(environment.project_dir, environment.uuid)
    if not folder.is_dir():
        raise EnvironmentNotFound(
            f"The project {quote(environment.project_dir.name)} has no environment "
            f"{quote(environment.uuid)}."
        )
    _write_files(folder, changed)
    return changed


def delete_environment(project_dir: Path, uuid: str) -> None:
    folder = environment_dir(project_dir, uuid)
    if not folder.is_dir():
        raise EnvironmentNotFound(
            f"The project {quote(project_dir.name)} has no environment {quote(uuid)}."
        )
    # Renamed away first, so the environment disappears at once even if removal is slow.
    doomed = folder.with_name(f".deleted-{uuid}-{uuids.uuid4().hex[:8]}")
    folder.rename(doomed)
    shutil.rmtree(doomed, ignore_errors=True)


def properties_text(environment: Environment) -> str:
    """properties.json as Orchest writes it."""
    properties = {
        **environment.extra,
        "uuid": environment.uuid,
        "name": environment.name,
        "base_image": environment.base_image,
        "language": environment.language,
        "gpu_support": environment.gpu_support,
    }
    return json.dumps(properties, indent=4, sort_keys=True)


def check_properties(environment: Environment) -> None:
    """Raise InvalidProperties unless the environment can be saved and built."""
    checks: list[tuple[bool, str]] = [
        (
            isinstance(environment.name, str) and bool(environment.name.strip()),
            "An environment needs a name: give a non-empty `name`.",
        ),
        (
            not isinstance(environment.name, str) or len(environment.name) <= MAX_NAME_LENGTH,
            f"The name is too long: at most {MAX_NAME_LENGTH} characters.",
        ),
        (
            environment.language in LANGUAGES,
            f"`language` must be one of {', '.join(LANGUAGES)}.",
        ),
        (
            isinstance(environment.base_image, str) and bool(environment.base_image.strip()),
            "`base_image` must name an image, e.g. orchest/base-kernel-py.",
        ),
        (isinstance(environment.gpu_support, bool), "`gpu_support` must be true or false."),
        (isinstance(environment.setup_script, str), "`setup_script` must be text."),
    ]
    for passed, message in checks:
        if not passed:
            raise InvalidProperties(message)


def environment_issues(definition: Mapping[str, Any], project_dir: Path) -> list[ValidationIssue]:
    """A problem for every step that names an environment its project does not have."""
    steps = definition.get("steps")
    if not isinstance(steps, Mapping):
        return []
    issues = []
    for key, step in steps.items():
        uuid = step.get("environment") if isinstance(step, Mapping) else None
        if not isinstance(uuid, str) or not uuid or not is_valid_uuid(uuid):
            continue  # empty: the default environment; other values fail the schema
        if (environments_dir(project_dir) / uuid).is_dir():
            continue
        name = step_name(key, step_title(step))
        message = (
            f"{sentence(name)} uses the environment {quote(uuid)}, which this project does "
            "not have: choose one of the project's environments, or leave it empty to use "
            "the default one."
        )
        issues.append(
            ValidationIssue(
                f"/steps/{escape_pointer_part(key)}/environment",
                message,
                "unknown-environment",
                key,
            )
        )
    return issues


def _environment_folders(project_dir: Path) -> list[str]:
    try:
        entries = list(environments_dir(project_dir).iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))


def _write_files(folder: Path, environment: Environment) -> None:
    write_atomic(folder / PROPERTIES_FILE, properties_text(environment))
    write_atomic(folder / SETUP_SCRIPT_FILE, environment.setup_script)


def _label(project_dir: Path, file: Path) -> str:
    return f"'{project_dir.name}/{file.relative_to(project_dir).as_posix()}'"


def _from_properties(
    data: object, setup_script: str, project_dir: Path, uuid: str, label: str
) -> Environment:
    if not isinstance(data, dict):
        raise MalformedEnvironment(
            uuid, f"{label} must hold a JSON object with the environment's properties."
        )
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise MalformedEnvironment(
            uuid, f"{label} is missing {', '.join(missing)}: add them, as Orchest writes them."
        )
    wrong = [key for key in REQUIRED_KEYS if not isinstance(data[key], str)]
    gpu_support = data.get("gpu_support", False)
    if not isinstance(gpu_support, bool):
        wrong.append("gpu_support")
    if wrong:
        raise MalformedEnvironment(
            uuid,
            f"{label} has values of the wrong type for {', '.join(wrong)}: gpu_support is true "
            "or false, the others are text.",
        )
    if data["uuid"] != uuid:
        raise MalformedEnvironment(
            uuid,
            f"{label} says its uuid is {quote(data['uuid'])} but its folder is named "
            f"{quote(uuid)}: make the two equal.",
        )
    return Environment(
        uuid=uuid,
        name=data["name"],
        base_image=data["base_image"],
        language=data["language"],
        gpu_support=gpu_support,
        setup_script=setup_script,
        project_dir=project_dir,
        extra={key: value for key, value in data.items() if key not in KNOWN_KEYS},
    )
