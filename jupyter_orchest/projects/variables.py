"""Environment variables of projects and pipelines, as Orchest had them: the user's own
variables for every step of a project's pipelines, and for every step of one pipeline;
pipeline variables win over project variables, and a job's own variables over both.

They hold secrets (tokens, passwords), so they are kept out of the pipeline file, of git and
of job snapshots: in the project's private folder (see `private`), in
`.orchest/private/env_variables.json`, readable by its owner only:

    {"project": {"NAME": "value"}, "pipelines": {"<pipeline uuid>": {"NAME": "value"}}}

Names are POSIX variable names; `PATH` (which steps need to find their programs) and names
starting with `ORCHEST_` (what the engine tells steps) are refused. Values are text.

What is recorded about them (provenance, cache keys) are digests keyed with a random key of
the project's own (`digest.key` in the private folder), so that a short secret cannot be
found again by trying candidates against its digest.
"""

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..sdk.atomic import folder_lock
from .private import create_private, ensure_private_dir, private_dir, write_private

VARIABLES_FILE = "env_variables.json"
DIGEST_KEY_FILE = "digest.key"
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED_NAMES = frozenset({"PATH"})
RESERVED_PREFIX = "ORCHEST_"
MAX_NAME_LENGTH = 255
MAX_VALUE_LENGTH = 64 * 1024
MAX_VARIABLES = 1000


class VariablesError(ValueError):
    """Variables that cannot be used: `field` says where (e.g. `project_env_variables.X`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"`{field}`: {message}")
        self.field = field


class MalformedVariables(Exception):
    """The variables file cannot be read; the message names it and says what to do."""


def check_variables(value: object, field: str) -> dict[str, str]:
    """`value` as variables (names to text); VariablesError naming the first bad entry."""
    if not isinstance(value, Mapping):
        raise VariablesError(field, "must be an object of variable names to text values.")
    if len(value) > MAX_VARIABLES:
        raise VariablesError(field, f"at most {MAX_VARIABLES} variables.")
    for name, text in value.items():
        where = f"{field}.{name}"
        if not isinstance(name, str) or not NAME.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
            raise VariablesError(
                where,
                "not a valid variable name: use letters, digits and '_', not starting with a "
                f"digit, at most {MAX_NAME_LENGTH} characters.",
            )
        if name in RESERVED_NAMES or name.startswith(RESERVED_PREFIX):
            raise VariablesError(
                where,
                "this name is the engine's: PATH is how steps find their programs, and "
                f"{RESERVED_PREFIX}* variables tell steps who they are. Choose another name.",
            )
        if not isinstance(text, str):
            raise VariablesError(where, 'the value must be text (write numbers as "3").')
        if "\0" in text or len(text) > MAX_VALUE_LENGTH:
            raise VariablesError(
                where, f"the value must be text without NUL, at most {MAX_VALUE_LENGTH} long."
            )
    return dict(value)


@dataclass(frozen=True)
class ProjectVariables:
    """A project's variables and those of its pipelines (by pipeline uuid)."""

    project: dict[str, str] = field(default_factory=dict)
    pipelines: dict[str, dict[str, str]] = field(default_factory=dict)

    def for_pipeline(self, pipeline_uuid: str) -> dict[str, str]:
        """What a pipeline's steps get: its project's variables, then its own over them."""
        return merged(self.project, self.pipelines.get(pipeline_uuid, {}))

    def to_json(self) -> dict[str, Any]:
        pipelines = {uuid: variables for uuid, variables in self.pipelines.items() if variables}
        return {"project": self.project, "pipelines": pipelines}


def merged(*layers: Mapping[str, str]) -> dict[str, str]:
    """The layers' variables, each layer's over the ones before it."""
    result: dict[str, str] = {}
    for layer in layers:
        result.update(layer)
    return result


def read_variables(project_dir: Path) -> ProjectVariables:
    """The project's variables (none if it has no file); MalformedVariables if the file
    cannot be read or holds what no write of ours would."""
    file = private_dir(project_dir) / VARIABLES_FILE
    try:
        data = json.loads(file.read_bytes())
        if not isinstance(data, dict) or not isinstance(data.get("pipelines", {}), dict):
            raise VariablesError("pipelines", "must be an object of pipeline uuids.")
        return ProjectVariables(
            project=check_variables(data.get("project", {}), "project"),
            pipelines={
                str(uuid): check_variables(variables, f"pipelines.{uuid}")
                for uuid, variables in data.get("pipelines", {}).items()
            },
        )
    except FileNotFoundError:
        return ProjectVariables()
    except (OSError, ValueError) as error:
        raise MalformedVariables(
            f"The environment variables in {file} cannot be read ({error}): fix the file, or "
            "delete it and set the variables again."
        ) from None


def write_variables(
    project_dir: Path,
    *,
    project: Mapping[str, str] | None = None,
    pipeline: tuple[str, Mapping[str, str]] | None = None,
) -> ProjectVariables:
    """Replace the project's variables (`project`) and/or one pipeline's (`pipeline`: its
    uuid and variables), keeping the rest; the variables as they are now. Checked values
    only (see `check_variables`). OSError if the file cannot be written."""
    folder = ensure_private_dir(project_dir)
    with folder_lock(str(folder)):  # read, change, replace: one writer at a time
        current = read_variables(project_dir)
        pipelines = dict(current.pipelines)
        if pipeline is not None:
            pipelines[pipeline[0]] = dict(pipeline[1])
        changed = ProjectVariables(
            dict(project) if project is not None else current.project,
            {uuid: variables for uuid, variables in pipelines.items() if variables},
        )
        text = json.dumps(changed.to_json(), indent=4, sort_keys=True, ensure_ascii=False)
        write_private(folder / VARIABLES_FILE, text.encode("utf-8"))
    _digest_key(project_dir)  # made now, while the folder is known to be writable
    return changed


def digests(project_dir: Path, variables: Mapping[str, str]) -> dict[str, str]:
    """Each variable's keyed digest (see the module's docs), by name."""
    if not variables:
        return {}
    key = _digest_key(project_dir)[:64]  # blake2b's longest key
    return {
        name: hashlib.blake2b(value.encode("utf-8"), key=key, digest_size=16).hexdigest()
        for name, value in sorted(variables.items())
    }


def _digest_key(project_dir: Path) -> bytes:
    """The project's digest key, made at first use. Where it cannot be kept (a folder that
    cannot be written to), digests are plain: they still tell a change."""
    file = private_dir(project_dir) / DIGEST_KEY_FILE
    try:
        return file.read_bytes()
    except FileNotFoundError:
        pass
    except OSError:
        return b""
    try:
        ensure_private_dir(project_dir)
        return create_private(file, os.urandom(32))
    except OSError:
        return b""
