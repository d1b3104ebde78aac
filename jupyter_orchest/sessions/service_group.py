"""The services of one session: started together, given to its steps, stopped together.

Both kinds of session have one: a pipeline's interactive session runs the services whose
`scope` includes `interactive`, a run's own session (a job's run, a run from the command
line) those whose scope includes `noninteractive`. With Docker they run in containers on a
network of the group's own, so that groups never share names or ports; without Docker, as
processes on this machine, each group holding its services' ports while they run (see
`ports`).

Every service gets Orchest's variables about its session (`ORCHEST_PROJECT_UUID`,
`ORCHEST_SESSION_UUID`, ...) and its own `env_variables`; `env_variables_inherit` names
variables it takes from the user's environment variables (a job's, its pipeline's, its
project's), as in Orchest, else from the server's environment.
"""

import asyncio
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine.masking import SecretMask
from ..engine.model import StepExecutor
from ..environments.builds import Builds, EnvironmentUnavailable, Ready
from ..environments.model import EnvironmentBackend
from ..sdk.services import SESSION_SERVICES
from .containers import ContainerService, SessionNetwork
from .definitions import BadService, ServiceDefinition, ServiceDefinitionError
from .model import ServiceState, ServiceStatus
from .ports import PortLeases
from .processes import ProcessService
from .running import RunningService, ServiceReport, status_of

ENVIRONMENT_IMAGE = "environment@"
"""Orchest's prefix of a service image that names one of the project's environments."""


@dataclass(frozen=True)
class ServiceContext:
    """Where a group's services run, and what they are told."""

    group: str
    """A random id: names the group's network and labels its containers."""
    holder: str
    """What the group belongs to, for people: "the interactive session of x.orchest"."""
    ends_by_itself: bool
    """Whether the group stops without being asked (a run's), so that another group
    needing its ports may wait for them (see `ports`)."""
    project_dir: Path
    """Where process services run, and what `/project-dir` binds."""
    environments_project_dir: Path
    """Whose environments an `environment@<uuid>` image names."""
    data_dir: Path
    log_dir: Path
    """Where process services' output goes."""
    user_variables: Mapping[str, str]
    orchest_variables: Mapping[str, str]
    builds: Builds | None
    """None when steps run without environments (then no service runs in a container)."""
    grace_period: float
    ports: PortLeases


class ServiceGroup:
    """See the module's docs; `changed` hears of every change of a service's status."""

    def __init__(
        self,
        definitions: list[ServiceDefinition | BadService],
        context: ServiceContext,
        changed: Callable[[], None],
    ) -> None:
        self.definitions = definitions
        self.context = context
        # What a service prints may hold the user's secrets: its messages quote it.
        mask = SecretMask(context.user_variables.values()).text
        self.reports = [ServiceReport(status_of(d), changed, mask) for d in definitions]
        self.network: SessionNetwork | None = None
        self._services: list[RunningService] = []
        self._holding: list[int] = []

    @property
    def statuses(self) -> list[ServiceStatus]:
        return [report.status for report in self.reports]

    def needs_network(self, backend: EnvironmentBackend | None) -> bool:
        """Whether its services run in containers, on a network the steps must join."""
        wanted = any(isinstance(d, ServiceDefinition) for d in self.definitions)
        return backend is not None and backend.name == "docker" and wanted

    async def open(self, backend: EnvironmentBackend | None) -> None:
        """With Docker, make the group's network, which the steps' containers join too."""
        if self.needs_network(backend):
            self.network = SessionNetwork(self.context.group)
            await self.network.open()

    async def start(self) -> None:
        """Start every service; return once each runs or failed (see `RunningService`)."""
        self._services = [self._service(i) for i in range(len(self.reports))]
        refusal = await self._hold_ports()
        if refusal is not None:
            for service in self._services:
                if isinstance(service, ProcessService):
                    service.report.failed(refusal)
        await asyncio.gather(
            *(s.start() for s in self._services if s.report.status.state != ServiceState.FAILED)
        )

    def for_steps(self) -> dict[str, str]:
        """The variables that tell steps about the services (see `sdk.services`)."""
        return {SESSION_SERVICES: json.dumps(self._services_for_steps())}

    def stopping(self) -> None:
        """Services that end from now on did not fail."""
        for report in self.reports:
            report.stopping = True

    async def stop(self) -> None:
        """Stop every service, remove the network, give the ports back."""
        self.stopping()
        await asyncio.gather(*(service.stop() for service in self._services))
        for report in self.reports:
            report.stopped()  # also those the start did not get to
        if self.network is not None:
            await self.network.close()
        self.context.ports.release(self._holding)
        self._holding = []

    # Inside

    def _service(self, index: int) -> RunningService:
        definition, report = self.definitions[index], self.reports[index]
        context = self.context
        if isinstance(definition, BadService):
            return _Refused(report, definition.message)
        inheritable = {**os.environ, **context.user_variables}
        environment = {**context.orchest_variables, **definition.environment(inheritable)}
        if self.network is not None:
            return ContainerService(
                definition,
                network=self.network,
                project_dir=context.project_dir,
                data_dir=context.data_dir,
                environment=environment,
                resolve_image=self._image,
                report=report,
                grace_period=context.grace_period,
            )
        return ProcessService(
            definition,
            project_dir=context.project_dir,
            log_dir=context.log_dir,
            environment=environment,
            report=report,
            grace_period=context.grace_period,
        )

    async def _hold_ports(self) -> str | None:
        """Take the ports of the group's process services, waiting while other groups that
        end by themselves hold them; why they cannot be had, if they cannot."""
        processes = [s for s in self._services if isinstance(s, ProcessService)]
        ports = sorted({port for service in processes for port in service.service.ports})
        if not ports:
            return None

        def waiting(holder: str) -> None:
            for service in processes:
                service.report.waiting(f"Waiting for its ports, which {holder} uses…")

        refusal = await self.context.ports.acquire(
            ports, self.context.holder, self.context.ends_by_itself, waiting
        )
        if refusal is None:
            self._holding = ports
        return refusal

    async def _image(self, image: str) -> str:
        """The image to run: as named, or the build of the project's environment that an
        `environment@<uuid>` names (as in Orchest), built first if need be."""
        builds = self.context.builds
        if not image.startswith(ENVIRONMENT_IMAGE):
            return image
        if builds is None:
            raise ServiceDefinitionError(f"{image!r} names an environment: environments are off.")
        try:
            ready = await builds.ensure_built(
                self.context.environments_project_dir,
                image[len(ENVIRONMENT_IMAGE) :],
                lambda _: None,
            )
        except EnvironmentUnavailable as error:
            raise ServiceDefinitionError(str(error)) from None
        return ready.built.reference

    def _services_for_steps(self) -> dict[str, dict[str, Any]]:
        """What `orchest.get_services()` reads in the group's steps; a service that failed
        is there as FAILED, with why, so that a step asking for it is told."""
        services = {}
        for definition, service in zip(self.definitions, self._services, strict=False):
            status = service.report.status
            raw = {key: value for key, value in definition.raw.items() if key != "scope"}
            entry = {**raw, "name": status.name, "state": status.state.value}
            entry["message"] = status.message
            if isinstance(definition, ServiceDefinition) and status.state != ServiceState.FAILED:
                host, ports = service.internal_hostname, definition.ports
                entry |= {
                    "internal_hostname": host,
                    "internal_urls": {port: f"http://{host}:{port}/" for port in ports},
                    "external_urls": dict(service.report.urls),
                    "base_paths": dict.fromkeys(ports, "/"),
                }
            services[status.name] = entry
        return services


def build_executor(ready: Ready, services: ServiceGroup) -> StepExecutor:
    """A build's executor; with Docker, its containers join the services' network."""
    network = services.network
    if network is not None and network.client is not None:
        from ..environments.docker import DockerBackend  # only loaded when Docker is used

        if isinstance(ready.backend, DockerBackend):
            return ready.backend.executor(ready.built, network=network.name)
    return ready.backend.executor(ready.built)


class _Refused:
    """A service whose definition cannot run: reported FAILED, starts nothing."""

    internal_hostname = ""

    def __init__(self, report: ServiceReport, message: str) -> None:
        self.report = report
        self.message = message

    async def start(self) -> None:
        self.report.failed(self.message)

    async def stop(self) -> None:
        self.report.stopped()
