"""Parameters of the running step and of its pipeline.

They come from the run's parameters file when the engine gives one (``ORCHEST_PARAMETERS_FILE``:
the definition's parameters with the run's overrides, as in a job), else from the pipeline
file itself, as in Orchest.
"""

from __future__ import annotations

from typing import Any

from .definition import (
    json_object,
    parameters_of,
    read_json_object,
    read_pipeline,
    step_properties,
)
from .environment import current_step
from .errors import StepUUIDResolveError


def get_params() -> tuple[dict[str, Any], dict[str, Any]]:
    """The parameters of the running step and those of its pipeline, in that order."""
    step = current_step()
    if step.parameters_file is not None:
        doc = read_json_object(step.parameters_file, "the run's parameters file")
        where = "in the run's parameters file"
        steps = json_object(doc.get("steps", {}), f"the step parameters {where}")
        # A step the engine left out has no parameters.
        return (
            json_object(steps.get(step.step_uuid, {}), f"the parameters of this step {where}"),
            json_object(doc.get("pipeline", {}), f"the pipeline parameters {where}"),
        )
    pipeline = read_pipeline(step)
    try:
        properties = step_properties(pipeline, step.step_uuid)
    except StepUUIDResolveError as error:
        raise StepUUIDResolveError(f"Parameters could not be identified: {error}") from None
    return parameters_of(properties, "the step"), parameters_of(pipeline, "the pipeline")


def get_step_param(name: str, default: Any = None) -> Any:
    """The running step's parameter ``name``, or ``default`` if it has none by that name."""
    return get_params()[0].get(name, default)


def get_pipeline_param(name: str, default: Any = None) -> Any:
    """The pipeline's parameter ``name``, or ``default`` if it has none by that name."""
    return get_params()[1].get(name, default)
