"""Interactive runs of pipelines: start, follow, cancel, and read their logs."""

import asyncio
import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..engine.caching import Caching
from ..engine.events import NoOpObserver, ObserverGroup, RunChanged, RunObserver
from ..engine.launch import (
    RunLayout,
    RunVariables,
    check_overrides,
    parallelism_for,
    prepare_run,
)
from ..engine.logs import step_log_path
from ..engine.model import OutputLimit, RunState, StepExecutor, StepState
from ..engine.orchestrator import PipelineRunner
from ..engine.planning import RunPlan, RunType, plan_run
from ..engine.provenance import StepProvenance
from ..projects import MalformedVariables, session_variables
from ..sessions.service import SessionService
from ..store import DatabaseUnavailable, RunRecord, RunStore, StepRunRecord
from ..store.provenance import ProvenanceStore
from .errors import BadRequest, Conflict, NotFound
from .logs import LogPage, log_page
from .pipelines import PipelineService

log = logging.getLogger(__name__)

RESTART_REASON = "The server stopped while this run was in progress."


class RunConflict(Conflict):
    def __init__(self, run_id: str) -> None:
        super().__init__(
            f"This pipeline is already running (run {run_id}): wait for it or cancel it first."
        )
        self.run_id = run_id

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "run_id": self.run_id}


@dataclass
class ActiveRun:
    runner: PipelineRunner
    task: "asyncio.Task[RunState]"


def run_to_json(
    run: RunRecord, provenance: Mapping[str, StepProvenance] | None = None
) -> dict[str, Any]:
    """The run; with the provenance of its steps (by uuid), each step says whether it came
    from the cache (`cached`) and why it was computed (`reasons`)."""
    provenance = provenance or {}

    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "id": run.id,
        "pipeline_uuid": run.pipeline_uuid,
        "pipeline_path": run.pipeline_path,
        "type": run.run_type,
        "selection": run.selection,
        "parameters": run.parameters,
        "state": run.state,
        "message": run.message,
        "created_at": iso(run.created_at),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "steps": [
            {
                "uuid": step.step_uuid,
                "title": step.title,
                "file_path": step.file_path,
                "state": step.state,
                "message": step.message,
                "started_at": iso(step.started_at),
                "finished_at": iso(step.finished_at),
                "cached": step.step_uuid in provenance and provenance[step.step_uuid].cached,
                "reasons": list(provenance[step.step_uuid].reasons)
                if step.step_uuid in provenance
                else [],
            }
            for step in run.steps
        ],
    }


def pending_steps(plan: RunPlan, layout: RunLayout) -> list[StepRunRecord]:
    """A run's steps as recorded before it starts: pending, in run order, with their logs'
    paths."""
    return [
        StepRunRecord(
            step_uuid=step.uuid,
            position=position,
            title=step.title,
            file_path=step.file_path,
            state=StepState.PENDING.value,
            log_path=str(step_log_path(layout.logs_dir, step.uuid)),
        )
        for position, step in enumerate(plan.steps)
    ]


def provenance_by_run(
    provenance: ProvenanceStore | None, run_ids: Iterable[str]
) -> dict[str, dict[str, StepProvenance]]:
    """The provenance of these runs' steps: by run id, then step uuid."""
    found: dict[str, dict[str, StepProvenance]] = {}
    if provenance is not None:
        for (run_id, step_uuid), record in provenance.for_runs(run_ids).items():
            found.setdefault(run_id, {})[step_uuid] = record
    return found


class RunService:
    """Runs pipelines under the server's root folder, one interactive run per pipeline."""

    def __init__(
        self,
        pipelines: PipelineService,
        store: RunStore,
        executor: StepExecutor,
        *,
        parallelism: int,
        data_dir: Path | None = None,
        observer: RunObserver | None = None,
        caching: Caching | None = None,
        provenance: ProvenanceStore | None = None,
        executors: Mapping[str, StepExecutor] | None = None,
        sessions: SessionService | None = None,
        output_limit: OutputLimit | None = None,
    ) -> None:
        """`executors`: those a run may ask for by name (`local`, `ray`) instead of `executor`.
        `sessions`: a pipeline's runs on this machine run in its interactive session.
        `output_limit`: how much of a cell's printed output notebooks keep."""
        self.pipelines, self.store, self.executor = pipelines, store, executor
        self.executors = dict(executors or {})
        self.sessions = sessions
        self.caching, self.provenance = caching, provenance
        self.parallelism = parallelism
        self.data_dir = data_dir
        self.observer = observer or NoOpObserver()
        self.output_limit = output_limit
        self._active: dict[str, ActiveRun] = {}  # by pipeline uuid
        self._executors_started: dict[int, asyncio.Task[None]] = {}  # by id(executor)
        try:
            aborted = store.abort_orphaned(RESTART_REASON)
        except DatabaseUnavailable:
            aborted = []  # the database logged why; starting a run will say so too
        if aborted:
            log.warning("Marked %d runs interrupted by a server stop as aborted", len(aborted))

    def start(
        self,
        pipeline_path: str,
        run_type: str = "all",
        steps: list[str] | None = None,
        parameters: object = None,
        fail_fast: bool = False,
        force: bool = False,
        executor: str | None = None,
    ) -> dict[str, Any]:
        """Start a run; `force` recomputes the selected steps (all of them for a full run)
        rather than restoring them from the cache; `executor` names one of `executors`
        (None: the server's own)."""
        chosen = self._executor_named(executor)
        pipeline, definition = self.pipelines.read_valid(pipeline_path)
        try:
            kind = RunType(run_type)
        except ValueError:
            raise BadRequest("`type` must be one of: all, selection, incoming.") from None
        if kind != RunType.ALL and not steps:
            raise BadRequest("Choose the steps to run: `steps` is empty.")
        try:
            overrides = check_overrides(definition, parameters)
        except ValueError as error:
            raise BadRequest(str(error)) from None
        active = self._active.get(definition["uuid"])
        if active is not None:
            raise RunConflict(active.runner.run_id)
        pipeline_file = self.pipelines.root_dir / pipeline.path
        project_dir = self.pipelines.root_dir / pipeline.project
        try:
            variables = RunVariables.of_run(
                project_dir,
                definition["uuid"],
                session_variables(project_dir, pipeline_file, definition["uuid"]),
            )
        except MalformedVariables as error:
            raise Conflict(str(error)) from None
        if self.sessions is not None and chosen is self.executors.get("local", self.executor):
            chosen = self.sessions.executor_for(pipeline, definition) or chosen
        plan = plan_run(definition, pipeline_file, kind, steps)
        run_id = uuid.uuid4().hex
        layout = RunLayout.interactive(
            project_dir,
            pipeline_file,
            definition["uuid"],
            run_id,
            self.data_dir or project_dir / "data",
        )
        record = RunRecord(
            id=run_id,
            pipeline_uuid=definition["uuid"],
            pipeline_path=pipeline.path,
            project_dir=str(project_dir),
            run_type=kind.value,
            selection=list(steps or []),
            parameters=overrides,
            state=RunState.PENDING.value,
            message="",
            created_at=datetime.now(timezone.utc),
        )
        self.store.add_run(record, pending_steps(plan, layout))
        runner = prepare_run(
            definition=definition,
            plan=plan,
            layout=layout,
            executor=chosen,
            observer=ObserverGroup([self.store, self.observer]),
            parallelism=parallelism_for(definition, self.parallelism),
            overrides=overrides,
            fail_fast=fail_fast,
            variables=variables,
            caching=self.caching,
            force=force,
            output_limit=self.output_limit,
        )
        task = asyncio.ensure_future(self._execute(runner, chosen))
        self._active[definition["uuid"]] = ActiveRun(runner, task)
        task.add_done_callback(lambda _: self._active.pop(definition["uuid"], None))
        return run_to_json(record)  # as added: nothing has run, nothing is to be read back

    def get(self, run_id: str) -> dict[str, Any]:
        run = self.store.get_run(run_id)
        if run is None:
            raise NotFound(f"There is no run '{run_id}'.")
        return run_to_json(run, provenance_by_run(self.provenance, [run_id]).get(run_id))

    def list(self, pipeline_path: str | None = None) -> list[dict[str, Any]]:
        pipeline_uuid = None
        if pipeline_path is not None:
            pipeline_uuid = self.pipelines.uuid_of(pipeline_path)
            if pipeline_uuid is None:
                return []
        runs = self.store.list_runs(pipeline_uuid)
        provenance = provenance_by_run(self.provenance, [run.id for run in runs])
        return [run_to_json(run, provenance.get(run.id)) for run in runs]

    def cancel(self, run_id: str) -> dict[str, Any]:
        for active in self._active.values():
            if active.runner.run_id == run_id:
                active.runner.cancel()
        return self.get(run_id)

    async def cancel_pipeline_run(self, pipeline_uuid: str) -> None:
        """Cancel the pipeline's run, if one is active, and return once it has ended."""
        active = self._active.get(pipeline_uuid)
        if active is not None:
            active.runner.cancel()
            await asyncio.gather(active.task, return_exceptions=True)

    def step_log(
        self, run_id: str, step_uuid: str, offset: int = 0, limit: int | None = None
    ) -> LogPage:
        """The step's log from byte `offset` on: all of it, or `limit` bytes (see `logs`)."""
        run = self.store.get_run(run_id)
        step = next((s for s in run.steps if s.step_uuid == step_uuid), None) if run else None
        if step is None:
            raise NotFound(f"Run '{run_id}' has no step '{step_uuid}'.")
        return log_page(step.log_path, offset, limit)

    async def shutdown(self) -> None:
        for active in list(self._active.values()):
            active.runner.cancel()
        await asyncio.gather(*(a.task for a in self._active.values()), return_exceptions=True)
        for executor in {id(e): e for e in (self.executor, *self.executors.values())}.values():
            await executor.shutdown()

    def _executor_named(self, name: str | None) -> StepExecutor:
        if name is None:
            return self.executor
        if name not in self.executors:
            if name == "ray":
                raise BadRequest(
                    "This server has no Ray cluster to run on: start it with "
                    "`--OrchestApp.ray_address=ADDRESS` (e.g. `auto`) to run pipelines on Ray."
                )
            raise BadRequest(f'`executor` must be "local" or "ray", got {name!r}.')
        return self.executors[name]

    async def _execute(self, runner: PipelineRunner, executor: StepExecutor) -> RunState:
        try:
            if id(executor) not in self._executors_started:
                self._executors_started[id(executor)] = asyncio.ensure_future(executor.start())
            await self._executors_started[id(executor)]
            return await runner.run()
        except Exception as error:
            log.exception("Run %s failed in the engine", runner.run_id)
            self.store.run_changed(
                RunChanged(
                    runner.run_id,
                    runner.pipeline_uuid,
                    RunState.FAILURE,
                    datetime.now(timezone.utc),
                    f"The run engine failed: {error}",
                )
            )
            return RunState.FAILURE
