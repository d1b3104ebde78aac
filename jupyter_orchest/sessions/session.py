"""One pipeline's interactive session: its executor, its environments' warm kernels, its
services; started in the background, stopped completely.

Launching: the environments its steps use are built if need be (each reported BUILDING, then
READY or FAILED) while its services start (a Docker network first, when it runs them in
containers); then the kernels of its notebook steps are started ahead of need, and it runs.
An environment or a service that fails is reported as such and leaves the session running:
the steps that need it fail, saying why. Only a session that cannot run steps at all (no
backend) fails.

Stopping: its pipeline's interactive run is cancelled, its services stopped, its executor
shut down (every kernel, fork server, container and process it started), its network
removed; then it is STOPPED.
"""

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..engine.executors import LocalExecutor
from ..engine.model import StepExecutor, StepReporter, StepTask
from ..engine.planning import RunType, plan_run
from ..environments.builds import Builds, EnvironmentUnavailable, Ready
from ..environments.definition import (
    EnvironmentNotFound,
    MalformedEnvironment,
    resolve_environment,
)
from ..environments.executor import EnvironmentExecutor
from ..environments.model import BackendUnavailable, Environment
from .definitions import INTERACTIVE, services_in_scope
from .executor import SessionExecutor
from .model import (
    EnvironmentState,
    EnvironmentStatus,
    SessionChanged,
    SessionState,
)
from .ports import PortLeases
from .processes import services_log_dir
from .service_group import ServiceContext, ServiceGroup, build_executor

log = logging.getLogger(__name__)

WARM_RENEWAL = 60.0
"""Seconds between renewals of the session's kernel expectations: after a step, the kernels
of its notebook steps are started again if their expectation expired (see LocalExecutor)."""
KERNELS_CHECK = 2.0
"""Seconds between looks at the session's warm kernels, reported when their number changes."""
NO_ENVIRONMENTS = "The server's kernels"
"""The name shown for what steps run with when environments are off (backend `none`)."""
Publish = Callable[[SessionChanged], None]
StopRuns = Callable[[str], Awaitable[None]]


class Session:
    """See the module's docs. `pipeline_path` and `project` as the API names them."""

    def __init__(
        self,
        *,
        pipeline_path: str,
        project: str,
        definition: dict[str, Any],
        root_dir: Path,
        data_dir: Path | None,
        builds: Builds,
        grace_period: float,
        publish: Publish,
        ports: PortLeases,
        user_variables: Mapping[str, str],
        orchest_variables: Mapping[str, str],
    ) -> None:
        """`user_variables`: the project's and the pipeline's, which its services may
        inherit; `orchest_variables`: what Orchest tells its services about the session."""
        self.id = uuid.uuid4().hex
        self.pipeline_path, self.project = pipeline_path, project
        self.definition = definition
        self.pipeline_uuid: str = definition["uuid"]
        self.pipeline_name = str(definition.get("name") or Path(pipeline_path).stem)
        self.project_dir = root_dir / project
        self.pipeline_file = root_dir / pipeline_path
        self.data_dir = data_dir or self.project_dir / "data"
        self.builds = builds
        self.grace_period = grace_period
        self.publish = publish
        self.state = SessionState.LAUNCHING
        self.message = ""
        self.started_at = datetime.now(timezone.utc)
        self.environments: dict[str, EnvironmentStatus] = {}
        self.inner: StepExecutor = (
            EnvironmentExecutor(builds, self._build_executor)
            if builds.backends.enabled
            else LocalExecutor(grace_period=grace_period, standby_kernels=0)
        )
        self.executor = SessionExecutor(self.inner, self)
        self.services = ServiceGroup(
            services_in_scope(definition, INTERACTIVE),
            ServiceContext(
                group=self.id,
                holder=f"the interactive session of '{pipeline_path}'",
                ends_by_itself=False,
                project_dir=self.project_dir,
                environments_project_dir=self.project_dir,
                data_dir=self.data_dir,
                log_dir=services_log_dir(self.project_dir, self.pipeline_uuid),
                user_variables=user_variables,
                orchest_variables=orchest_variables,
                builds=builds,
                grace_period=grace_period,
                ports=ports,
            ),
            self._changed,
        )
        self._up = asyncio.Event()
        """Set once it runs, failed or is stopping: what steps wait for."""
        self._launching: asyncio.Task[None] | None = None
        self._stopping: asyncio.Task[None] | None = None
        self._watching: asyncio.Task[None] | None = None
        self._warmed_at = -math.inf
        self._published: dict[str, Any] | None = None

    # Life

    def launch(self) -> None:
        self._changed()
        self._launching = asyncio.ensure_future(self._launch())

    async def stop(self, stop_runs: StopRuns) -> None:
        """Stop it (see the module's docs); several callers wait for the same stop."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop(stop_runs))
        await asyncio.shield(self._stopping)

    @property
    def running(self) -> bool:
        return self.state == SessionState.RUNNING

    def to_json(self) -> dict[str, Any]:
        self._count_kernels()
        return {
            "pipeline_path": self.pipeline_path,
            "pipeline_uuid": self.pipeline_uuid,
            "pipeline_name": self.pipeline_name,
            "project": self.project,
            "state": self.state.value,
            "message": self.message,
            "started_at": self.started_at.isoformat(),
            "environments": [status.to_json() for status in self.environments.values()],
            "services": [status.to_json() for status in self.services.statuses],
        }

    # What its executor asks (see SessionSide)

    async def wait_until_running(self, reporter: StepReporter) -> str | None:
        if self.state == SessionState.LAUNCHING:
            reporter.log("stdout", "Waiting for the pipeline's session to start…\n")
            await self._up.wait()
        if self.state == SessionState.RUNNING:
            return None
        if self.state == SessionState.FAILED:
            return f"The pipeline's session failed: {self.message} Stop it and start it again."
        return "The pipeline's session was stopped: start it again to run the pipeline."

    def step_variables(self) -> dict[str, str]:
        return self.services.for_steps()

    def step_finished(self) -> None:
        if self.running and time.monotonic() - self._warmed_at > WARM_RENEWAL:
            self._warm()

    # Launching

    async def _launch(self) -> None:
        try:
            backend = await self.builds.backends.get() if self.builds.backends.enabled else None
            await self.services.open(backend)
            await self.inner.start()
            await asyncio.gather(self._prepare_environments(), self.services.start())
        except BackendUnavailable as error:
            self._set(SessionState.FAILED, str(error))
        except Exception as error:  # a defect of ours fails the session, not the server
            log.exception("The session of %s could not start", self.pipeline_path)
            self._set(SessionState.FAILED, f"The session could not start: {error}")
        else:
            self._set(SessionState.RUNNING)
            self._warm()
            self._watching = asyncio.ensure_future(self._watch_kernels())
        finally:
            self._up.set()

    async def _prepare_environments(self) -> None:
        if not self.builds.backends.enabled:
            self.environments[""] = EnvironmentStatus("", NO_ENVIRONMENTS, EnvironmentState.READY)
            self._changed()
            return
        found: dict[str, Environment] = {}
        for step in self.definition["steps"].values():
            named = str(step.get("environment") or "")
            try:
                environment = resolve_environment(self.project_dir, named)
            except (EnvironmentNotFound, MalformedEnvironment) as error:
                name = named or "the project's default environment"
                self.environments.setdefault(
                    named, EnvironmentStatus(named, name, EnvironmentState.FAILED, str(error))
                )
                continue
            found.setdefault(environment.uuid, environment)
        self._changed()
        await asyncio.gather(*(self._build(environment) for environment in found.values()))

    async def _build(self, environment: Environment) -> None:
        built = await self.builds.current(self.project_dir, environment.uuid) is not None
        status = EnvironmentStatus(environment.uuid, environment.name)
        self.environments[environment.uuid] = status
        if built:
            status.state = EnvironmentState.READY
            self._changed()
            return
        self._changed()  # BUILDING
        try:
            await self.builds.ensure_built(self.project_dir, environment.uuid, lambda _: None)
        except EnvironmentUnavailable as error:
            status.state, status.message = EnvironmentState.FAILED, str(error)
        else:
            status.state = EnvironmentState.READY
        self._changed()

    def _build_executor(self, ready: Ready) -> StepExecutor:
        """A build's executor; with Docker, its containers join the session's network."""
        return build_executor(ready, self.services)

    # Warm kernels

    def _warm(self) -> None:
        """Have the kernels of the pipeline's notebook steps started ahead of need."""
        self._warmed_at = time.monotonic()
        self.executor.expect(self._warm_tasks())

    def _warm_tasks(self) -> list[StepTask]:
        plan = plan_run(self.definition, self.pipeline_file, RunType.ALL, None)
        return [
            StepTask(
                run_id=f"session-{self.id}",
                step_uuid=step.uuid,
                title=step.title,
                file=step.file,
                kernel_name=step.kernel_name,
                environment=step.environment,
                project_dir=self.project_dir,
                data_dir=self.data_dir,
            )
            for step in plan.steps
        ]

    async def _watch_kernels(self) -> None:
        """Report the warm kernels as their number changes (they start in the background)."""
        while True:
            await asyncio.sleep(KERNELS_CHECK)
            self._changed()

    def _count_kernels(self) -> None:
        if isinstance(self.inner, EnvironmentExecutor):
            counts = self.inner.warm_kernels()
            for status in self.environments.values():
                status.kernels = counts.get(status.uuid, 0)
        elif isinstance(self.inner, LocalExecutor) and "" in self.environments:
            self.environments[""].kernels = self.inner.warm_kernels()

    # Stopping

    async def _stop(self, stop_runs: StopRuns) -> None:
        self._set(SessionState.STOPPING)
        self.services.stopping()
        try:
            await stop_runs(self.pipeline_uuid)
        except Exception:
            log.exception("The run of %s could not be cancelled", self.pipeline_path)
        for task in (self._launching, self._watching):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._up.set()
        await self.inner.shutdown()
        await self.services.stop()
        self._set(SessionState.STOPPED)

    # Reporting

    def _set(self, state: SessionState, message: str = "") -> None:
        stopping = self.state in (SessionState.STOPPING, SessionState.STOPPED)
        if stopping and state != SessionState.STOPPED:
            return  # a launch ending while the session stops does not change its state
        self.state, self.message = state, message
        self._changed()

    def _changed(self) -> None:
        session = self.to_json()
        if session != self._published:
            self._published = session
            self.publish(SessionChanged(session))
