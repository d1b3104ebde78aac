"""Turning a planned step into something an executor can run: its files, environment, inputs.

Shared by the server and the headless CLI, so that both run steps identically.
"""

import queue
import shutil
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..projects import digests, merged, read_variables
from ..sdk.environment import (
    clear_step_outputs,
    interactive_outputs_dir,
    step_environment,
    write_parameters_file,
)
from .attempts import StepAttempts
from .caching import CachedSteps, Caching, RunContext
from .events import ObserverGroup, RunObserver
from .logs import LogFileObserver, step_log_path
from .masking import MaskingExecutor, SecretMask
from .model import OutputLimit, StepExecutor, StepRefused, StepTask, executor_name
from .orchestrator import PipelineRunner
from .planning import PlannedStep, RunPlan
from .provenance import git_commit


@dataclass(frozen=True)
class RunLayout:
    """Where one run's files live."""

    project_dir: Path
    pipeline_file: Path
    pipeline_uuid: str
    run_id: str
    outputs_dir: Path
    """One folder per step with its outputs; interactive runs share the pipeline's."""
    data_dir: Path
    run_dir: Path
    """This run's own files: its parameters and its step logs."""
    environments_project_dir: Path | None = None
    """Whose environments the steps use, when not `project_dir`'s (see StepTask)."""

    @classmethod
    def interactive(
        cls,
        project_dir: Path,
        pipeline_file: Path,
        pipeline_uuid: str,
        run_id: str,
        data_dir: Path,
        environments_project_dir: Path | None = None,
    ) -> "RunLayout":
        """Orchest's layout, so that outputs of earlier runs are found by later ones. A job's
        run is laid out the same way in its own copy of the project."""
        outputs_dir = Path(interactive_outputs_dir(project_dir, pipeline_uuid))
        return cls(
            project_dir=project_dir,
            pipeline_file=pipeline_file,
            pipeline_uuid=pipeline_uuid,
            run_id=run_id,
            outputs_dir=outputs_dir,
            data_dir=data_dir,
            run_dir=outputs_dir.parent / "runs" / run_id,
            environments_project_dir=environments_project_dir,
        )

    @property
    def logs_dir(self) -> Path:
        return self.run_dir / "logs"

    @property
    def parameters_file(self) -> Path:
        return self.run_dir / "parameters.json"


@dataclass(frozen=True)
class RunVariables:
    """The variables a run's steps get besides who they are (see `sdk.environment`)."""

    user: Mapping[str, str] = field(default_factory=dict)
    """The user's: a job's over its pipeline's over its project's. Their values are masked
    in what the steps print (see `masking`)."""
    orchest: Mapping[str, str] = field(default_factory=dict)
    """Orchest's about the run: its project's uuid, its session's uuid and type, its job."""
    digests: Mapping[str, str] = field(default_factory=dict)
    """The user's variables' keyed digests by name: part of every step's cache key and
    provenance, in place of their values."""

    @classmethod
    def of_run(
        cls,
        project_dir: Path,
        pipeline_uuid: str,
        orchest: Mapping[str, str],
        job_variables: Mapping[str, str] | None = None,
    ) -> "RunVariables":
        """A run's variables: the project's and the pipeline's (as kept in `project_dir`),
        with a job's over them. MalformedVariables if the project's cannot be read."""
        user = merged(read_variables(project_dir).for_pipeline(pipeline_uuid), job_variables or {})
        return cls(user=user, orchest=orchest, digests=digests(project_dir, user))


def effective_parameters(
    definition: dict[str, Any], overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The parameters a run sees: the definition's, with this run's overrides on top."""
    overrides = overrides or {}
    pipeline = {**definition.get("parameters", {}), **overrides.get("pipeline", {})}
    steps = {
        uuid: {**step.get("parameters", {}), **overrides.get("steps", {}).get(uuid, {})}
        for uuid, step in definition["steps"].items()
    }
    return {"pipeline": pipeline, "steps": steps}


def check_overrides(definition: dict[str, Any], overrides: object) -> dict[str, Any]:
    """Parameter overrides in the form `{"pipeline": {...}, "steps": {uuid: {...}}}`."""
    if overrides is None:
        return {}
    if not isinstance(overrides, dict) or set(overrides) - {"pipeline", "steps"}:
        raise ValueError('Parameters must look like {"pipeline": {...}, "steps": {uuid: {...}}}.')
    if not isinstance(overrides.get("pipeline", {}), dict):
        raise ValueError("Pipeline parameters must be an object of names and values.")
    steps = overrides.get("steps", {})
    if not isinstance(steps, dict) or not all(isinstance(p, dict) for p in steps.values()):
        raise ValueError("Step parameters must be an object of step uuids to objects.")
    unknown = sorted(set(steps) - set(definition["steps"]))
    if unknown:
        raise ValueError(f"Parameters name steps the pipeline does not have: {', '.join(unknown)}.")
    return overrides


class StepLauncher:
    """Builds the executor's task for each step of one run, and prepares its folders."""

    def __init__(
        self,
        layout: RunLayout,
        parameters: dict[str, Any],
        variables: RunVariables,
        output_limit: OutputLimit,
    ) -> None:
        self.layout = layout
        self.variables = {**variables.user, **variables.orchest}
        self.output_limit = output_limit
        layout.run_dir.mkdir(parents=True, exist_ok=True)
        write_parameters_file(layout.parameters_file, parameters["pipeline"], parameters["steps"])

    def task_for(self, step: PlannedStep) -> StepTask:
        layout = self.layout
        return StepTask(
            run_id=layout.run_id,
            step_uuid=step.uuid,
            title=step.title,
            file=step.file,
            kernel_name=step.kernel_name,
            environment=step.environment,
            project_dir=layout.project_dir,
            environments_project_dir=layout.environments_project_dir,
            data_dir=layout.data_dir,
            resources=step.resources,
            attempts=step.attempts,
            output_limit=self.output_limit,
            log_file=step_log_path(layout.logs_dir, step.uuid)
            .relative_to(layout.project_dir)
            .as_posix(),
            # The user's variables first, so that none can replace what the SDK relies on.
            env=self.variables
            | step_environment(
                project_dir=layout.project_dir,
                pipeline_path=layout.pipeline_file.relative_to(layout.project_dir).as_posix(),
                pipeline_uuid=layout.pipeline_uuid,
                step_uuid=step.uuid,
                run_id=layout.run_id,
                outputs_dir=layout.outputs_dir,
                data_dir=layout.data_dir,
                parameters_file=layout.parameters_file,
            ),
        )

    def before_step(self, step: PlannedStep) -> None:
        project = self.layout.project_dir.resolve()
        if not step.file.resolve().is_relative_to(project):
            raise StepRefused(f"The step file '{step.file_path}' leads outside the project.")
        if not step.file.is_file():
            raise StepRefused(
                f"The step file '{step.file_path}' does not exist: create it or choose another."
            )
        self.layout.data_dir.mkdir(parents=True, exist_ok=True)
        clear_step_outputs(self.layout.outputs_dir, step.uuid, remove=_remove_in_background)


class _BackgroundRemover:
    """Deletes folders of old outputs, already renamed away, in one thread of its own, so
    that no step waits for it: starting a thread per folder made each step wait for the
    thread to start. A daemon, so that a large folder never holds the server's exit up."""

    def __init__(self) -> None:
        self._folders: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def __call__(self, folder: str) -> None:
        self._folders.put(folder)
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._remove, name="remove-old-outputs", daemon=True
                )
                self._thread.start()

    def _remove(self) -> None:
        while True:
            shutil.rmtree(self._folders.get(), ignore_errors=True)


_remove_in_background = _BackgroundRemover()


def parallelism_for(definition: dict[str, Any], default: int) -> int:
    """The pipeline's own `max_steps_parallelism` when set (> 0), else `default`."""
    configured = definition.get("settings", {}).get("max_steps_parallelism")
    return configured if isinstance(configured, int) and configured > 0 else default


def prepare_run(
    *,
    definition: dict[str, Any],
    plan: RunPlan,
    layout: RunLayout,
    executor: StepExecutor,
    observer: RunObserver,
    parallelism: int,
    overrides: dict[str, Any] | None = None,
    fail_fast: bool = False,
    variables: RunVariables | None = None,
    caching: Caching | None = None,
    force: bool = False,
    output_limit: OutputLimit | None = None,
) -> PipelineRunner:
    """A runner for one run, with its parameters written and its step logs kept on disk;
    `variables`: for every step, the user's masked in their output. Steps are tried as their
    attempt policy says (see `attempts`). With `caching`, steps are looked up before they run
    and their provenance is recorded; `force` recomputes the selected steps. `output_limit`:
    how much of each cell's printed output notebooks keep (see `OutputLimit` for the default)."""
    variables = variables or RunVariables()
    parameters = effective_parameters(definition, overrides)
    launcher = StepLauncher(layout, parameters, variables, output_limit or OutputLimit())
    mask = SecretMask(variables.user.values())
    if mask:  # innermost: the cache, the logs and the events only ever see masked output
        executor = MaskingExecutor(executor, mask)
    observers = ObserverGroup([LogFileObserver(layout.logs_dir), observer])
    ledger = caching.ledger if caching is not None else None
    attempts = StepAttempts(executor, observers, layout.pipeline_uuid, ledger)
    if caching is None:
        runs: StepExecutor = attempts
    else:
        context = RunContext(
            run_id=layout.run_id,
            pipeline_uuid=layout.pipeline_uuid,
            project_dir=layout.project_dir,
            data_dir=layout.data_dir,
            outputs_dir=layout.outputs_dir,
            logs_dir=layout.logs_dir,
            parameters=parameters,
            force=force,
            variable_digests=dict(variables.digests),
        )
        runs = CachedSteps(
            attempts,
            caching,
            plan,
            context,
            git_commit(layout.project_dir),
            executor_name=executor_name(executor),
        )
    return PipelineRunner(
        run_id=layout.run_id,
        pipeline_uuid=layout.pipeline_uuid,
        plan=plan,
        executor=runs,
        observer=observers,
        task_for=launcher.task_for,
        before_step=launcher.before_step,
        parallelism=parallelism,
        fail_fast=fail_fast,
    )
