"""Parameter grids: the runs of a job are the cartesian product of the values given for each
pipeline and step parameter, less the combinations the user leaves out.

A grid has the shape of a run's parameter overrides, with a list of values for each name:
`{"pipeline": {"alpha": [0.1, 0.2]}, "steps": {"<step uuid>": {"n": [1, 2, 3]}}}`.
Orchest keeps the same grid beside the pipeline file, in `<pipeline>.parameters.json`:
`{"pipeline_parameters": {"alpha": [...]}, "<step uuid>": {"n": [...]}}`.
"""

import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PIPELINE_KEY = "pipeline_parameters"
"""The key of the pipeline's own parameters in Orchest's parameters file."""
PARAMETERS_FILE_SUFFIX = ".parameters.json"


class GridError(ValueError):
    """A grid that cannot make runs; the message says what to change."""


@dataclass(frozen=True)
class Axis:
    """One parameter and the values it takes across the job's runs."""

    step: str | None
    """The step's uuid, or None for a pipeline parameter."""
    name: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class ParameterGrid:
    axes: tuple[Axis, ...]
    excluded: frozenset[int] = frozenset()
    """Indices (into `combinations()`) of the combinations the user left out."""

    @property
    def size(self) -> int:
        """How many combinations the full product has (excluded ones included)."""
        size = 1
        for axis in self.axes:
            size *= len(axis.values)
        return size

    def combinations(self) -> list[dict[str, Any]]:
        """Every combination as run parameter overrides, in a stable order (the first axis
        varies slowest); excluded ones are included, see `runs()`."""
        product = itertools.product(*(axis.values for axis in self.axes))
        return [self._overrides(values) for values in product]

    def runs(self) -> list[tuple[int, dict[str, Any]]]:
        """The combinations that run, each with its index in `combinations()`."""
        return [
            (index, overrides)
            for index, overrides in enumerate(self.combinations())
            if index not in self.excluded
        ]

    def to_json(self) -> dict[str, Any]:
        pipeline: dict[str, list[Any]] = {}
        steps: dict[str, dict[str, list[Any]]] = {}
        for axis in self.axes:
            target = pipeline if axis.step is None else steps.setdefault(axis.step, {})
            target[axis.name] = list(axis.values)
        return {"pipeline": pipeline, "steps": steps, "excluded": sorted(self.excluded)}

    def _overrides(self, values: Iterable[Any]) -> dict[str, Any]:
        overrides: dict[str, Any] = {"pipeline": {}, "steps": {}}
        for axis, value in zip(self.axes, values, strict=True):
            if axis.step is None:
                overrides["pipeline"][axis.name] = value
            else:
                overrides["steps"].setdefault(axis.step, {})[axis.name] = value
        return overrides


def parse_grid(definition: dict[str, Any], body: object, max_runs: int) -> ParameterGrid:
    """A grid for this pipeline from `{"pipeline": {...}, "steps": {...}, "excluded": [...]}`,
    checked: every value a non-empty list, every step a step of the pipeline, excluded
    indices in range, at least one run and at most `max_runs`."""
    if body is None:
        body = {}
    if not isinstance(body, dict) or set(body) - {"pipeline", "steps", "excluded"}:
        raise GridError(
            'The parameter grid must look like {"pipeline": {"name": [values]}, '
            '"steps": {"<step uuid>": {"name": [values]}}, "excluded": [indices]}.'
        )
    axes = [*_axes(None, body.get("pipeline", {}), "the pipeline")]
    steps = body.get("steps", {})
    if not isinstance(steps, dict):
        raise GridError("`steps` must map step uuids to their parameters' values.")
    for uuid, parameters in steps.items():
        if uuid not in definition["steps"]:
            raise GridError(f"The grid names a step the pipeline does not have: {uuid}.")
        title = definition["steps"][uuid].get("title") or uuid
        axes.extend(_axes(uuid, parameters, f"the step {title!r}"))
    grid = ParameterGrid(tuple(axes))
    excluded = body.get("excluded", [])
    if not isinstance(excluded, list) or not all(
        isinstance(index, int) and not isinstance(index, bool) for index in excluded
    ):
        raise GridError("`excluded` must be a list of combination numbers (0, 1, ...).")
    outside = sorted(index for index in excluded if not 0 <= index < grid.size)
    if outside:
        raise GridError(
            f"`excluded` names combinations that do not exist: {outside} "
            f"(the grid has {grid.size}, numbered from 0)."
        )
    grid = ParameterGrid(grid.axes, frozenset(excluded))
    runs = grid.size - len(grid.excluded)
    if runs == 0:
        raise GridError("Every combination is excluded: the job would have no run.")
    if runs > max_runs:
        raise GridError(
            f"The grid makes {runs} runs, more than the limit of {max_runs}: "
            "give fewer values, exclude combinations, or raise the limit "
            "(OrchestApp.max_job_runs)."
        )
    return grid


def _axes(step: str | None, parameters: object, owner: str) -> list[Axis]:
    if not isinstance(parameters, dict):
        raise GridError(f"The parameters of {owner} must be an object of names and lists.")
    axes = []
    for name, values in parameters.items():
        if not isinstance(values, list):
            raise GridError(
                f"The values of parameter {name!r} of {owner} must be a list, "
                f"e.g. [{json.dumps(values)}]."
            )
        if not values:
            raise GridError(f"Parameter {name!r} of {owner} has no values: give at least one.")
        axes.append(Axis(step, name, tuple(values)))
    return axes


def parameters_file(pipeline_file: Path) -> Path:
    """Orchest's parameters file of a pipeline: `x.orchest` -> `x.parameters.json`."""
    return pipeline_file.with_name(pipeline_file.stem + PARAMETERS_FILE_SUFFIX)


def default_grid(definition: dict[str, Any], pipeline_file: Path) -> dict[str, Any]:
    """The grid a new job starts from: each parameter's current value, overridden by the lists
    in the pipeline's parameters file when there is one. GridError if that file is not valid.
    """
    grid: dict[str, Any] = {
        "pipeline": {name: [value] for name, value in definition.get("parameters", {}).items()},
        "steps": {
            uuid: {name: [value] for name, value in step.get("parameters", {}).items()}
            for uuid, step in definition["steps"].items()
            if step.get("parameters")
        },
    }
    path = parameters_file(pipeline_file)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return grid
    except OSError as error:
        raise GridError(f"{path.name} cannot be read: {error.strerror}.") from None
    try:
        content = json.loads(text)
    except json.JSONDecodeError as error:
        raise GridError(
            f"{path.name} is not valid JSON (line {error.lineno}, column {error.colno})."
        ) from None
    if not isinstance(content, dict):
        raise GridError(f"{path.name} must hold an object of parameter lists.")
    for key, parameters in content.items():
        if not isinstance(parameters, dict):
            raise GridError(f"{path.name}: {key!r} must map parameter names to lists.")
        if key == PIPELINE_KEY:
            grid["pipeline"].update(parameters)
        elif key in definition["steps"]:
            grid["steps"].setdefault(key, {}).update(parameters)
        # Steps deleted since the file was written are ignored, as Orchest does.
    return grid
