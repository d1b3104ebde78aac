"""Which steps a run executes, in which order, and what each waits for.

Planning is kept apart from execution so that a cache can later decide, step by step, what
needs to run at all.
"""

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from ..pipeline import PipelineGraph
from .model import AttemptPolicy, StepResources


class RunType(str, Enum):
    ALL = "all"
    SELECTION = "selection"
    INCOMING = "incoming"


@dataclass(frozen=True)
class PlannedStep:
    uuid: str
    title: str
    file_path: str
    """As written in the pipeline file: relative to the pipeline's folder."""
    file: Path
    kernel_name: str | None
    environment: str
    """The uuid of the environment the step runs in, as written; empty when it names none."""
    parents: tuple[str, ...]
    """Parents that are part of this run; others keep the outputs of their last run."""
    children: tuple[str, ...]
    upstream: tuple[tuple[str, str], ...] = ()
    """Every parent (uuid, title), in the order of the step's incoming connections: the steps
    whose outputs it reads, in this run or not."""
    cache: bool = True
    """False when the step opts out of caching (`"cache": false` in its definition)."""
    output_files: tuple[str, ...] = ()
    """The patterns of files it declares its outputs (see `output_patterns`)."""
    resources: StepResources = field(default_factory=StepResources)
    attempts: AttemptPolicy = field(default_factory=AttemptPolicy)


@dataclass(frozen=True)
class RunPlan:
    steps: tuple[PlannedStep, ...]
    """In topological order."""
    selected: frozenset[str] = frozenset()
    """The steps chosen for the run: all of them for a full run, else the selection (without
    the ancestors an "incoming" run adds)."""

    def step(self, uuid: str) -> PlannedStep:
        return next(step for step in self.steps if step.uuid == uuid)

    def descendants(self, uuid: str) -> list[str]:
        found: list[str] = []
        pending = list(self.step(uuid).children)
        while pending:
            child = pending.pop()
            if child not in found:
                found.append(child)
                pending.extend(self.step(child).children)
        return found


def plan_run(
    definition: dict[str, Any],
    pipeline_file: Path,
    run_type: RunType,
    selection: list[str] | None = None,
) -> RunPlan:
    """Plan a run of a valid definition; UnknownStepError names selected steps that do not exist."""
    graph = PipelineGraph.from_definition(definition)
    if run_type == RunType.ALL:
        uuids = graph.topological_order()
    elif run_type == RunType.SELECTION:
        uuids = graph.selection(selection or [])
    else:
        uuids = graph.incoming(selection or [])
    in_run = set(uuids)
    steps = definition["steps"]

    def title(uuid: str) -> str:
        return str(steps[uuid].get("title") or uuid)

    return RunPlan(
        tuple(
            PlannedStep(
                uuid=uuid,
                title=title(uuid),
                file_path=steps[uuid]["file_path"],
                file=pipeline_file.parent / steps[uuid]["file_path"],
                kernel_name=(steps[uuid].get("kernel") or {}).get("name") or None,
                environment=steps[uuid].get("environment") or "",
                parents=tuple(p for p in graph.parents(uuid) if p in in_run),
                children=tuple(c for c in graph.children(uuid) if c in in_run),
                upstream=tuple((p, title(p)) for p in graph.parents(uuid)),
                cache=steps[uuid].get("cache") is not False,
                output_files=tuple(steps[uuid].get("output_files", ())),
                resources=StepResources.from_definition(steps[uuid]),
                attempts=AttemptPolicy.from_definition(steps[uuid]),
            )
            for uuid in uuids
        ),
        selected=frozenset(uuids if run_type == RunType.ALL else selection or []),
    )
