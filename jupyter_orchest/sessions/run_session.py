"""A run's own session, as Orchest had one for each run of a job: the pipeline's services
whose `scope` includes `noninteractive`, there for the run's steps and stopped when the run
ends, however it ends (it succeeds or fails, is cancelled, or the server stops).

Every run has its own. With Docker, its services and its steps' containers share a network
of the run's own, so runs never share names or ports: its steps then run with executors of
their own, shut down with the session. Without Docker, its services are processes that hold
their ports while the run lasts (a run waits for the ports another run holds, see `ports`),
and its steps run with the executor they would run with anyway.

The services start when the first step that really runs does (a run whose steps all come
from the cache starts none); steps wait while they start, saying so in their log. A service
that cannot start does not stop the run, as in Orchest, which ran the pipeline anyway: each
step's log says which service failed and why, and a step that asks for it gets
`ServiceNotFound` saying so.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..engine.launch import RunLayout, RunVariables
from ..engine.model import StepExecutor, StepReporter
from ..environments.builds import Builds
from ..environments.executor import EnvironmentExecutor
from ..environments.model import BackendUnavailable, EnvironmentBackend
from .definitions import NONINTERACTIVE, services_in_scope
from .executor import SessionExecutor
from .model import ServiceState, ServiceStatus
from .ports import PortLeases
from .service_group import ServiceContext, ServiceGroup, build_executor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSessionSettings:
    """What every run's session of a server (or of the command line) shares."""

    builds: Builds | None
    """The environments' builds; None when steps run without environments."""
    shared: StepExecutor
    """What the steps run with when the session needs no executor of its own."""
    ports: PortLeases
    grace_period: float


class RunSession:
    """See the module's docs. `open` it, run the steps with the executor it gives, `close`
    it; `changed` hears of each change of its services."""

    def __init__(
        self,
        definition: Mapping[str, Any],
        context: ServiceContext,
        settings: RunSessionSettings,
        changed: Callable[[list[ServiceStatus]], None] = lambda _: None,
    ) -> None:
        self.settings = settings
        self.changed = changed
        self.services = ServiceGroup(
            services_in_scope(definition, NONINTERACTIVE), context, self._changed
        )
        self._own: StepExecutor | None = None
        self._backend: EnvironmentBackend | None = None
        self._problem = ""
        """Why no service can start (the backend the steps need does not answer), if so."""
        self._up = asyncio.Event()
        self._launching: asyncio.Task[None] | None = None
        self._closing = False

    @classmethod
    def for_run(
        cls,
        definition: Mapping[str, Any],
        layout: RunLayout,
        variables: RunVariables,
        settings: RunSessionSettings,
        holder: str,
        changed: Callable[[list[ServiceStatus]], None] = lambda _: None,
    ) -> "RunSession":
        """The session of one run: `holder` names the run for people (see `ports`)."""
        context = ServiceContext(
            group=layout.run_id,
            holder=holder,
            ends_by_itself=True,
            project_dir=layout.project_dir,
            environments_project_dir=layout.environments_project_dir or layout.project_dir,
            data_dir=layout.data_dir,
            log_dir=layout.run_dir / "services",
            user_variables=variables.user,
            orchest_variables=variables.orchest,
            builds=settings.builds,
            grace_period=settings.grace_period,
            ports=settings.ports,
        )
        return cls(definition, context, settings, changed)

    async def open(self) -> StepExecutor:
        """The executor the run's steps run with, which starts the services at the first
        step it runs and holds the steps back until they run (or failed)."""
        builds = self.settings.builds
        try:
            if builds is not None and builds.backends.enabled:
                self._backend = await builds.backends.get()
        except BackendUnavailable as error:
            self._problem = str(error)
        if builds is not None and self.services.needs_network(self._backend):
            # Executors of the run's own, made at its first step (once the network is).
            self._own = EnvironmentExecutor(
                builds, lambda ready: build_executor(ready, self.services)
            )
        return SessionExecutor(self._own or self.settings.shared, self)

    async def close(self) -> None:
        """Stop everything the session started; return once it is gone."""
        self._closing = True
        self.services.stopping()
        self._up.set()  # steps still waiting give up
        if self._launching is None:
            return  # nothing started
        self._launching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._launching
        if self._own is not None:
            await self._own.shutdown()
        await self.services.stop()

    # What its executor asks (see SessionSide)

    @property
    def running(self) -> bool:
        """Whether steps may be expected: not before the network their containers join."""
        return self._launching is not None and self._up.is_set() and not self._closing

    async def wait_until_running(self, reporter: StepReporter) -> str | None:
        if self._launching is None and not self._closing:
            self._launching = asyncio.ensure_future(self._launch())
        if not self._up.is_set():
            reporter.log("stdout", "Waiting for the run's services to start…\n")
            await self._up.wait()
        if self._closing:
            return "The run's services were stopped: the run is ending."
        for status in self.services.statuses:
            if status.state == ServiceState.FAILED:
                reporter.log(
                    "stdout", f"The service {status.name!r} is not running: {status.message}\n"
                )
        return None

    def step_variables(self) -> dict[str, str]:
        return self.services.for_steps()

    def step_finished(self) -> None:
        pass

    # Inside

    async def _launch(self) -> None:
        try:
            if self._problem:
                for report in self.services.reports:
                    report.failed(self._problem)
            else:
                await self.services.open(self._backend)
                await self.services.start()
        except Exception as error:  # a defect of ours fails the services, not the run
            log.exception("The run's services could not start")
            for report in self.services.reports:
                report.failed(f"The run's services could not start: {error}")
        finally:
            self._up.set()

    def _changed(self) -> None:
        self.changed(self.services.statuses)
