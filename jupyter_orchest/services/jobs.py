"""Jobs: a pipeline run for every combination of a parameter grid, now, at a start time, or
on a cron schedule, each run in its own copy of a snapshot of the project.

Creating a job checks everything first (pipeline, grid, schedule, variables) and then takes
the snapshot; nothing is recorded unless all of it worked. The scheduler (`tick`) makes the
runs of every job that is due: the runs and the job's next slot are recorded in one
transaction, and a slot can make its runs only once, so a slot never fires twice, even
across restarts. After downtime a schedule fires once for the missed period (see
`jobs.schedule`). Runs of all jobs execute concurrently up to `max_concurrent_runs`.
"""

import asyncio
import logging
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

from ..engine.caching import Caching
from ..engine.events import ObserverGroup, RunChanged, RunObserver
from ..engine.launch import (
    RunLayout,
    RunVariables,
    effective_parameters,
    parallelism_for,
    prepare_run,
)
from ..engine.model import OutputLimit, RunState, StepExecutor
from ..engine.orchestrator import PipelineRunner
from ..engine.planning import RunType, plan_run
from ..jobs.grid import GridError, default_grid, parse_grid
from ..jobs.schedule import Clock, CronSchedule, ScheduleError, system_clock
from ..jobs.snapshot import SnapshotError, copy_snapshot, take_snapshot
from ..pipeline import dump_definition, parse_definition
from ..projects import MalformedVariables, VariablesError, check_variables, session_variables
from ..sessions.definitions import has_run_services
from ..sessions.model import ServiceState, ServiceStatus
from ..sessions.ports import PortLeases
from ..sessions.run_session import RunSession, RunSessionSettings
from ..store import DatabaseUnavailable, JobRecord, JobRunRecord, JobStore, RunRecord, RunStore
from ..store.provenance import ProvenanceStore
from .atomic import write_atomic
from .errors import BadRequest, Conflict, InvalidField, NotFound, StorageError
from .pipelines import PipelineService
from .runs import pending_steps, provenance_by_run, run_to_json
from .step_defaults import apply_step_defaults, parse_step_defaults

log = logging.getLogger(__name__)

JOB_RUN_TYPE = "job"
"""The run type of a job's runs in the runs table (they always run every step)."""
_JUST_BEFORE = timedelta(microseconds=1)
MIN_SCHEDULER_WAIT = 0.05
"""Seconds; slots are minutes apart, and a clock a little behind must not make a busy loop."""


class JobStatus(str, Enum):
    DRAFT = "DRAFT"  # saved, not started
    PENDING = "PENDING"  # waiting for its start time or its first slot
    STARTED = "STARTED"
    PAUSED = "PAUSED"
    SUCCESS = "SUCCESS"
    ABORTED = "ABORTED"
    FAILURE = "FAILURE"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCESS, JobStatus.ABORTED, JobStatus.FAILURE)


SCHEDULED = [JobStatus.PENDING.value, JobStatus.STARTED.value]
"""Statuses of jobs that make runs when they are due."""


@dataclass(frozen=True)
class JobSettings:
    data_dir: Path | None
    """Steps' data folder; each project's `data` folder when None."""
    parallelism: int
    """Steps at once within one run, unless the pipeline says otherwise."""
    max_runs_per_job: int
    """The most runs one slot of a job may make (the grid's size, less exclusions)."""
    max_concurrent_runs: int
    """Job runs executing at once, over all jobs."""
    output_limit: OutputLimit = field(default_factory=OutputLimit)
    """How much of a cell's printed output the runs' notebooks keep."""


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


class JobService:
    def __init__(
        self,
        pipelines: PipelineService,
        runs: RunStore,
        executor: StepExecutor,
        settings: JobSettings,
        observer: RunObserver,
        clock: Clock = system_clock,
        caching: Caching | None = None,
        provenance: ProvenanceStore | None = None,
        run_sessions: RunSessionSettings | None = None,
    ) -> None:
        """`run_sessions`: what the runs' own sessions share (their pipeline's services of
        scope `noninteractive`, see `sessions.run_session`)."""
        self.pipelines, self.runs, self.executor = pipelines, runs, executor
        self.run_sessions = run_sessions or RunSessionSettings(None, executor, PortLeases(), 3.0)
        self.caching = caching
        self.provenance = provenance
        self.store = JobStore(runs)
        self.settings, self.observer, self.clock = settings, observer, clock
        self._slots = asyncio.Semaphore(settings.max_concurrent_runs)
        self._active: dict[str, PipelineRunner] = {}  # by run id
        self._tasks: dict[asyncio.Task[None], str] = {}
        """Runs waiting or running, with their job's id."""
        self._executor_started: asyncio.Task[None] | None = None
        try:
            for job in _under(
                self.pipelines.root_dir, self.store.list_jobs()
            ):  # in-flight runs were aborted
                if job.status == JobStatus.STARTED and not job.cron:
                    self._finish_if_done(job.id)
        except DatabaseUnavailable:
            pass  # the database logged why; the jobs are finished when it works again

    # Creating and changing jobs

    async def create(self, body: object) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise BadRequest("Send the job as a JSON object.")
        pipeline_path = body.get("pipeline_path")
        if not isinstance(pipeline_path, str):
            raise BadRequest("`pipeline_path` must name the pipeline file the job runs.")
        pipeline, definition = self.pipelines.read_valid(pipeline_path)
        pipeline_file = self.pipelines.root_dir / pipeline.path
        project_dir = self.pipelines.root_dir / pipeline.project
        try:
            grid_body = body.get("parameters")
            if grid_body is None:
                grid_body = default_grid(definition, pipeline_file)
            grid = parse_grid(definition, grid_body, self.settings.max_runs_per_job)
            schedule = _schedule(body)
            step_defaults = parse_step_defaults(body.get("step_defaults"))
        except (GridError, ScheduleError, ValueError) as error:
            raise BadRequest(str(error)) from None
        name = body.get("name", definition.get("name") or "Job")
        if not isinstance(name, str) or not name.strip():
            raise BadRequest("`name` must be a non-empty string.")
        start_at = _moment(body.get("start_at"), "start_at")
        env_variables = _variables(body.get("env_variables", {}))
        retained = body.get("max_retained_runs", 0)
        if not isinstance(retained, int) or isinstance(retained, bool) or retained < 0:
            raise BadRequest("`max_retained_runs` must be a whole number, 0 to keep every run.")
        draft = body.get("draft", False) is True

        job_id = uuid.uuid4().hex
        folder = project_dir / ".orchest" / "jobs" / definition["uuid"] / job_id
        try:
            await asyncio.to_thread(
                take_snapshot, project_dir, folder / "snapshot", [self._data_dir(project_dir)]
            )
            snapshot_pipeline = folder / "snapshot" / pipeline_file.relative_to(project_dir)
            await asyncio.to_thread(_write_step_defaults, snapshot_pipeline, step_defaults)
        except (SnapshotError, OSError) as error:
            shutil.rmtree(folder, ignore_errors=True)
            raise StorageError(str(error)) from None
        now = self.clock()
        first = start_at or now
        if schedule is not None:
            first = schedule.next_after(first - _JUST_BEFORE)  # a slot at start_at counts
        try:
            self.store.add_job(
                JobRecord(
                    id=job_id,
                    name=name.strip(),
                    pipeline_uuid=definition["uuid"],
                    pipeline_path=pipeline.path,
                    project_dir=str(project_dir),
                    folder=str(folder),
                    status=(JobStatus.DRAFT if draft else JobStatus.PENDING).value,
                    grid=grid.to_json(),
                    cron=schedule.expression if schedule else None,
                    timezone=schedule.timezone if schedule else "UTC",
                    start_at=start_at,
                    next_fire_at=first,
                    env_variables=env_variables,
                    max_retained_runs=retained,
                    created_at=now,
                )
            )
        except DatabaseUnavailable:
            shutil.rmtree(folder, ignore_errors=True)  # nothing would ever find it
            raise
        self.tick()
        return self.get(job_id)

    def defaults(self, pipeline_path: str) -> dict[str, Any]:
        """What the form for a new job of this pipeline starts from: the pipeline's name and
        its grid (current values, or the lists of its parameters file)."""
        pipeline, definition = self.pipelines.read_valid(pipeline_path)
        try:
            grid = default_grid(definition, self.pipelines.root_dir / pipeline.path)
        except GridError as error:
            raise BadRequest(str(error)) from None
        return {"name": definition.get("name") or "Job", "parameters": grid}

    def start(self, job_id: str) -> dict[str, Any]:
        """Start a draft."""
        job = self._job(job_id)
        if job.status != JobStatus.DRAFT:
            raise Conflict(f"The job is {job.status.lower()}; only a draft can be started.")
        next_fire = job.next_fire_at
        if job.cron and next_fire is not None and next_fire < self.clock():
            next_fire = CronSchedule(job.cron, job.timezone).next_after(self.clock())
        self.store.update_job(job_id, status=JobStatus.PENDING.value, next_fire_at=next_fire)
        self.tick()
        return self.get(job_id)

    def pause(self, job_id: str) -> dict[str, Any]:
        job = self._job(job_id)
        if job.status not in SCHEDULED or job.next_fire_at is None:
            raise Conflict(f"The job is {job.status.lower()}: it has no coming runs to pause.")
        self.store.update_job(job_id, status=JobStatus.PAUSED.value)
        return self.get(job_id)

    def resume(self, job_id: str) -> dict[str, Any]:
        """Resume a paused job; slots that passed while it was paused do not fire."""
        job = self._job(job_id)
        if job.status != JobStatus.PAUSED:
            raise Conflict(f"The job is {job.status.lower()}, not paused.")
        now, next_fire = self.clock(), job.next_fire_at
        if job.cron:
            next_fire = CronSchedule(job.cron, job.timezone).next_after(now)
        status = JobStatus.STARTED if self.store.job_runs(job_id) else JobStatus.PENDING
        self.store.update_job(job_id, status=status.value, next_fire_at=next_fire)
        self.tick()
        return self.get(job_id)

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Stop the job: no more runs, and its running and waiting runs are aborted."""
        job = self._job(job_id)
        if JobStatus(job.status).finished:
            return self.get(job_id)
        self.store.update_job(
            job_id,
            status=JobStatus.ABORTED.value,
            next_fire_at=None,
            finished_at=self.clock(),
            message="Cancelled.",
        )
        for job_run, _ in self.store.job_runs(job_id):
            runner = self._active.get(job_run.run_id)
            if runner is not None:
                runner.cancel()
        return self.get(job_id)

    async def delete(self, job_id: str) -> None:
        """Cancel the job, wait for its runs to stop, and remove it with its runs and their
        folders."""
        job = self._job(job_id)
        self.cancel(job_id)
        await self.wait_for_runs(job_id)
        self.store.remove_runs([run.id for _, run in self.store.job_runs(job_id)])
        self.store.delete_job(job_id)
        shutil.rmtree(job.folder, ignore_errors=True)

    async def wait_for_runs(self, job_id: str | None = None) -> None:
        """Return once the runs made so far (of one job, or of all) have ended and been
        cleaned up after."""
        running = [task for task, owner in self._tasks.items() if job_id in (None, owner)]
        await asyncio.gather(*running, return_exceptions=True)

    # Reading

    def get(self, job_id: str) -> dict[str, Any]:
        job = self._job(job_id)
        runs = self.store.job_runs(job_id)
        provenance = provenance_by_run(self.provenance, [run.id for _, run in runs])
        schedule = CronSchedule(job.cron, job.timezone) if job.cron else None
        upcoming = []
        if schedule is not None and job.next_fire_at is not None:
            upcoming = [job.next_fire_at, *schedule.upcoming(job.next_fire_at, 4)]
        return {
            **_job_summary(job),
            "grid": job.grid,
            "env_variables": job.env_variables,
            "next_runs_at": [iso(moment) for moment in upcoming],
            "runs": [
                {
                    **run_to_json(run, provenance.get(run.id)),
                    "number": job_run.number,
                    "slot": iso(job_run.slot),
                    "folder": self._api_path(Path(job_run.folder)),
                }
                for job_run, run in runs
            ],
        }

    def list(self, pipeline_path: str | None = None) -> list[dict[str, Any]]:
        pipeline_uuid = None
        if pipeline_path is not None:
            pipeline_uuid = self.pipelines.uuid_of(pipeline_path)
            if pipeline_uuid is None:
                return []
        return [
            _job_summary(job)
            for job in _under(self.pipelines.root_dir, self.store.list_jobs(pipeline_uuid))
        ]

    def run_file(self, job_id: str, run_id: str, path: str) -> Path:
        """A file of one of the job's runs (e.g. a notebook with the outputs that run wrote)."""
        folder = self._run_folder(job_id, run_id)
        file = (folder / path).resolve()
        if not file.is_relative_to(folder.resolve()) or not file.is_file():
            raise NotFound(f"Run '{run_id}' has no file '{path}'.")
        return file

    async def restore(self, job_id: str, run_id: str, destination: object) -> dict[str, str]:
        """Copy a run's files, as the run left them, into a new folder of the workspace, where
        they make an editable project again."""
        if not isinstance(destination, str) or not destination.strip("/"):
            raise BadRequest("`folder` must name a new folder, relative to the server's root.")
        target = (self.pipelines.root_dir / destination.strip("/")).resolve()
        if not target.is_relative_to(self.pipelines.root_dir.resolve()):
            raise BadRequest("`folder` must stay inside the server's root folder.")
        if target.exists():
            raise Conflict(f"'{destination}' exists already: choose a new folder.")
        source = self._run_folder(job_id, run_id)
        try:
            await asyncio.to_thread(take_snapshot, source, target)
        except SnapshotError as error:
            raise StorageError(str(error)) from None
        return {"folder": self._api_path(target)}

    # The scheduler

    def tick(self) -> None:
        """Make the runs of every job that is due now."""
        now = self.clock()
        for job in _under(self.pipelines.root_dir, self.store.due_jobs(now, SCHEDULED)):
            assert job.next_fire_at is not None  # due_jobs only returns jobs with one
            if job.cron:
                schedule = CronSchedule(job.cron, job.timezone)
                slot = schedule.latest_due(job.next_fire_at, now) or job.next_fire_at
                following: datetime | None = schedule.next_after(now)
            else:
                slot, following = job.next_fire_at, None
            self._fire(job, slot, following)

    async def run_scheduler(self, interval: float = 5.0) -> None:
        """Make due runs until cancelled: at each job's next slot, and at least every
        `interval` seconds (jobs created or resumed meanwhile make their runs themselves)."""
        while True:
            try:
                self.tick()
                jobs = _under(self.pipelines.root_dir, self.store.scheduled_jobs(SCHEDULED))
                coming = [job.next_fire_at for job in jobs if job.next_fire_at is not None]
            except DatabaseUnavailable:  # the database logged why; tried again at each turn
                coming = []
            except Exception:  # a broken job must not stop the others' schedules
                log.exception("The job scheduler failed; it goes on")
                coming = []
            now = self.clock()
            wait = min([interval, *((moment - now).total_seconds() for moment in coming)])
            await asyncio.sleep(max(wait, MIN_SCHEDULER_WAIT))

    async def shutdown(self) -> None:
        for runner in self._active.values():
            runner.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # Internals

    def _fire(self, job: JobRecord, slot: datetime, following: datetime | None) -> None:
        pipeline_file = Path(job.folder) / "snapshot" / self._in_project(job)
        definition = parse_definition(pipeline_file.read_text(encoding="utf-8"))
        grid = parse_grid(definition, job.grid, self.settings.max_runs_per_job)
        plan = plan_run(definition, pipeline_file, RunType.ALL)
        now = self.clock()
        records = []
        for number, overrides in grid.runs():
            run_id = uuid.uuid4().hex
            folder = Path(job.folder) / "runs" / run_id
            layout = self._layout(job, folder, run_id)
            run = RunRecord(
                id=run_id,
                pipeline_uuid=job.pipeline_uuid,
                pipeline_path=job.pipeline_path,
                project_dir=str(folder),
                run_type=JOB_RUN_TYPE,
                selection=[],
                parameters=overrides,
                state=RunState.PENDING.value,
                message="",
                created_at=now,
            )
            steps = pending_steps(plan, layout)
            job_run = JobRunRecord(
                run_id=run_id,
                job_id=job.id,
                number=number,
                slot=slot,
                folder=str(folder),
                created_at=now,
            )
            records.append((run, steps, job_run))
        if not self.store.fire(job.id, following, JobStatus.STARTED.value, records):
            return  # this slot fired already
        for run, _, job_run in records:
            task = asyncio.ensure_future(self._execute(job, run, job_run))
            self._tasks[task] = job.id
            task.add_done_callback(self._tasks.pop)

    async def _execute(self, job: JobRecord, run: RunRecord, job_run: JobRunRecord) -> None:
        try:
            async with self._slots:
                if self._job(job.id).status == JobStatus.ABORTED:
                    self._end_run(run, RunState.ABORTED, "The job was cancelled.")
                    return
                prepared = await asyncio.to_thread(self._prepare, job, run, job_run)
                session = self._session(job, run, *prepared)
                executor = await session.open() if session is not None else self.executor
                try:
                    runner = await asyncio.to_thread(self._runner, job, run, executor, *prepared)
                    self._active[run.id] = runner
                    if self._executor_started is None:
                        self._executor_started = asyncio.ensure_future(self.executor.start())
                    await self._executor_started
                    await runner.run()
                finally:
                    self._active.pop(run.id, None)
                    if session is not None:
                        await session.close()
        except (SnapshotError, OSError) as error:
            self._end_run(run, RunState.FAILURE, f"The run's copy could not be made: {error}")
        except MalformedVariables as error:
            self._end_run(run, RunState.FAILURE, str(error))
        except Exception as error:
            log.exception("Job run %s failed in the engine", run.id)
            self._end_run(run, RunState.FAILURE, f"The run engine failed: {error}")
        finally:
            try:
                self._finish_if_done(job.id)
                self._apply_retention(job.id)
            except (DatabaseUnavailable, NotFound):
                pass  # the database refused (it logged why), or the job went with its file

    def _prepare(
        self, job: JobRecord, run: RunRecord, job_run: JobRunRecord
    ) -> tuple[dict[str, Any], RunLayout, RunVariables]:
        """Copy the snapshot for the run and write the run's parameters into its definition;
        the definition, the run's layout and its variables."""
        folder = Path(job_run.folder)
        copy_snapshot(Path(job.folder) / "snapshot", folder)
        pipeline_file = folder / self._in_project(job)
        definition = parse_definition(pipeline_file.read_text(encoding="utf-8"))
        parameters = effective_parameters(definition, run.parameters)
        definition["parameters"] = parameters["pipeline"]
        for uuid_, values in parameters["steps"].items():
            definition["steps"][uuid_]["parameters"] = values
        pipeline_file.write_text(dump_definition(definition), encoding="utf-8")
        # The project's and the pipeline's variables as they are now, read from the project
        # itself: a snapshot never holds them (they are secrets), and a rotated one reaches
        # the job's next runs.
        project_dir = Path(job.project_dir)
        session = session_variables(
            project_dir,
            self.pipelines.root_dir / job.pipeline_path,
            job.pipeline_uuid,
            run.id,
            (job.id, job_run.number),
        )
        variables = RunVariables.of_run(project_dir, job.pipeline_uuid, session, job.env_variables)
        return definition, self._layout(job, folder, run.id), variables

    def _runner(
        self,
        job: JobRecord,
        run: RunRecord,
        executor: StepExecutor,
        definition: dict[str, Any],
        layout: RunLayout,
        variables: RunVariables,
    ) -> PipelineRunner:
        return prepare_run(
            definition=definition,
            plan=plan_run(definition, layout.pipeline_file, RunType.ALL),
            layout=layout,
            executor=executor,
            observer=ObserverGroup([self.runs, self.observer]),
            parallelism=parallelism_for(definition, self.settings.parallelism),
            variables=variables,
            caching=self.caching,
            output_limit=self.settings.output_limit,
        )

    def _session(
        self,
        job: JobRecord,
        run: RunRecord,
        definition: dict[str, Any],
        layout: RunLayout,
        variables: RunVariables,
    ) -> RunSession | None:
        """The run's own session, when its pipeline has services for runs like it."""
        if not has_run_services(definition):
            return None
        holder = f"run {run.id} of the job {job.name!r}"
        return RunSession.for_run(
            definition, layout, variables, self.run_sessions, holder, _failures_logged(holder)
        )

    def _layout(self, job: JobRecord, folder: Path, run_id: str) -> RunLayout:
        project_dir = Path(job.project_dir)
        return RunLayout.interactive(
            folder,
            folder / self._in_project(job),
            job.pipeline_uuid,
            run_id,
            self._data_dir(project_dir),
            environments_project_dir=project_dir,
        )

    def _end_run(self, run: RunRecord, state: RunState, message: str) -> None:
        event = RunChanged(run.id, run.pipeline_uuid, state, self.clock(), message)
        self.runs.run_changed(event)
        self.observer.run_changed(event)

    def _finish_if_done(self, job_id: str) -> None:
        """A job without a schedule is over once all its runs are, and have been cleaned up
        after (their services stopped): the last run to end says so."""
        job = self._job(job_id)
        if job.cron or job.next_fire_at is not None or JobStatus(job.status).finished:
            return
        ending = asyncio.current_task() if self._tasks else None
        if any(
            owner == job_id and task is not ending and not task.done()
            for task, owner in self._tasks.items()
        ):
            return
        states = [RunState(run.state) for _, run in self.store.job_runs(job_id)]
        if not states or not all(state.finished for state in states):
            return
        succeeded = all(state == RunState.SUCCESS for state in states)
        status = JobStatus.SUCCESS if succeeded else JobStatus.FAILURE
        self.store.update_job(job_id, status=status.value, finished_at=self.clock())

    def _apply_retention(self, job_id: str) -> None:
        job = self._job(job_id)
        if job.max_retained_runs <= 0:
            return
        finished = [
            (job_run, run)
            for job_run, run in self.store.job_runs(job_id)
            if RunState(run.state).finished
        ]
        surplus = finished[: max(0, len(finished) - job.max_retained_runs)]
        if surplus:
            self.store.remove_runs([run.id for _, run in surplus])
            for job_run, _ in surplus:
                shutil.rmtree(job_run.folder, ignore_errors=True)

    def _run_folder(self, job_id: str, run_id: str) -> Path:
        for job_run, _ in self.store.job_runs(self._job(job_id).id):
            if job_run.run_id == run_id:
                return Path(job_run.folder)
        raise NotFound(f"Job '{job_id}' has no run '{run_id}'.")

    def _job(self, job_id: str) -> JobRecord:
        job = self.store.get_job(job_id)
        if job is None or not _under(self.pipelines.root_dir, [job]):
            raise NotFound(f"There is no job '{job_id}'.")
        return job

    def _in_project(self, job: JobRecord) -> Path:
        """The pipeline file's path inside its project (and so inside a snapshot)."""
        return (self.pipelines.root_dir / job.pipeline_path).relative_to(job.project_dir)

    def _data_dir(self, project_dir: Path) -> Path:
        return self.settings.data_dir or project_dir / "data"

    def _api_path(self, path: Path) -> str:
        return path.relative_to(self.pipelines.root_dir).as_posix()


def _failures_logged(holder: str) -> Callable[[list[ServiceStatus]], None]:
    """Has the server's log say once which services of a job's run failed (the run's steps'
    logs say it too)."""
    logged: set[str] = set()

    def changed(services: list[ServiceStatus]) -> None:
        for service in services:
            if service.state == ServiceState.FAILED and service.name not in logged:
                logged.add(service.name)
                log.warning(
                    "The service %r of %s failed: %s", service.name, holder, service.message
                )

    return changed


def _under(root: Path, jobs: list[JobRecord]) -> list[JobRecord]:
    """The jobs of projects under a server's root folder. A database can outlive a server or
    be shared by several with other roots: their jobs are theirs to show and to fire."""
    root = root.resolve()
    return [job for job in jobs if Path(job.project_dir).is_relative_to(root)]


def _job_summary(job: JobRecord) -> dict[str, Any]:
    return {
        "id": job.id,
        "name": job.name,
        "pipeline_uuid": job.pipeline_uuid,
        "pipeline_path": job.pipeline_path,
        "status": job.status,
        "message": job.message,
        "cron": job.cron,
        "timezone": job.timezone,
        "start_at": iso(job.start_at),
        "next_fire_at": iso(job.next_fire_at),
        "max_retained_runs": job.max_retained_runs,
        "created_at": iso(job.created_at),
        "finished_at": iso(job.finished_at),
    }


def _schedule(body: dict[str, Any]) -> CronSchedule | None:
    cron = body.get("cron")
    if cron is None or cron == "":
        return None
    return CronSchedule.parse(cron, body.get("timezone", "UTC"))


def _moment(value: object, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise BadRequest(
            f"`{name}` must be a date and time with its offset, e.g. 2026-12-01T06:00:00+01:00."
        )
    return moment


def _write_step_defaults(pipeline_file: Path, defaults: dict[str, int | float]) -> None:
    """Into the job's snapshot (see `step_defaults`)."""
    definition = parse_definition(pipeline_file.read_text(encoding="utf-8"))
    if apply_step_defaults(definition, defaults):
        write_atomic(pipeline_file, dump_definition(definition))


def _variables(value: object) -> dict[str, str]:
    try:
        return check_variables(value, "env_variables")
    except VariablesError as error:
        raise InvalidField(error.field, str(error)) from None
