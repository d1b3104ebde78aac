"""What the SDK reads from the pipeline file: a step's parents, titles and parameters.

Plain ``json`` rather than :mod:`jupyter_orchest.pipeline`: that package validates with
jsonschema, which steps must not need, and the SDK only needs a few fields. The file is read
on every call, as Orchest does, so edits between runs of a kept kernel are seen.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .environment import StepEnvironment, check_uuid
from .errors import (
    InvalidPipelineDefinitionError,
    PipelineDefinitionNotFoundError,
    StepUUIDResolveError,
)


def read_json_object(path: str, what: str) -> dict[str, Any]:
    """The JSON object in ``path``; ``what`` names the file in error messages."""
    try:
        # utf-8-sig: some Windows editors start files with a byte order mark, as the server allows.
        with open(path, encoding="utf-8-sig") as stream:
            doc = json.load(stream)
    except FileNotFoundError:
        raise PipelineDefinitionNotFoundError(f"Could not open {what} {path}.") from None
    except (ValueError, RecursionError) as error:  # JSON and UTF-8 errors are ValueErrors
        raise InvalidPipelineDefinitionError(f"{what} {path} is not valid JSON: {error}") from None
    if not isinstance(doc, dict):
        raise InvalidPipelineDefinitionError(f"{what} {path} does not hold a JSON object.")
    return doc


def read_pipeline(step: StepEnvironment) -> dict[str, Any]:
    return read_json_object(step.pipeline_file, "the pipeline file")


def steps_of(pipeline: Mapping[str, Any]) -> Mapping[str, Any]:
    steps = pipeline.get("steps")
    if not isinstance(steps, Mapping):
        raise InvalidPipelineDefinitionError('The pipeline file has no "steps" object.')
    return steps


def step_properties(pipeline: Mapping[str, Any], step_uuid: str) -> Mapping[str, Any]:
    step = steps_of(pipeline).get(step_uuid)
    if not isinstance(step, Mapping):
        raise StepUUIDResolveError(f"The pipeline has no step with uuid {step_uuid!r}.")
    return step


def step_title(pipeline: Mapping[str, Any], step_uuid: str) -> str:
    """The step's title, or its uuid when it has none (as a name to show, never a path)."""
    step = steps_of(pipeline).get(step_uuid)
    title = step.get("title") if isinstance(step, Mapping) else None
    return title if isinstance(title, str) and title.strip() else step_uuid


def incoming_steps(pipeline: Mapping[str, Any], step_uuid: str) -> list[str]:
    """The uuids of the step's parents in the order of its incoming connections, each once.

    Every uuid is checked to be a safe folder name before it is used to find outputs.
    """
    incoming = step_properties(pipeline, step_uuid).get("incoming_connections", [])
    if not isinstance(incoming, list):
        raise InvalidPipelineDefinitionError(
            f"The incoming connections of step {step_title(pipeline, step_uuid)!r} are not a "
            "list of step uuids."
        )
    return list(dict.fromkeys(check_uuid(parent, "parent step uuid") for parent in incoming))


def parameters_of(holder: Mapping[str, Any], what: str) -> dict[str, Any]:
    """The ``parameters`` object of a pipeline or step ({} when it has none)."""
    return json_object(holder.get("parameters", {}), f"the parameters of {what}")


def json_object(value: object, what: str) -> dict[str, Any]:
    """``value`` if it is a JSON object, else InvalidPipelineDefinitionError naming ``what``."""
    if not isinstance(value, dict):
        raise InvalidPipelineDefinitionError(f"{what[:1].upper()}{what[1:]} are not a JSON object.")
    return value
