"""Services as containers: the Docker backend's way to run them, as Orchest does.

A session with services gets a Docker network of its own; each service runs in a container
of its image on it, under its name as network alias, so that steps (whose containers join the
network) reach it by name. Its command is its `command`/`args`/`entrypoint` as argument lists,
its variables those its group gives it (see `service_group`), its binds the data and project
folders only, and its ports are published on 127.0.0.1 on free host ports,
which become its URLs. Images are not pulled: a missing one fails the service, saying so.

Everything carries the labels of `environments.docker.labels`, with the session as group, so
that the session removes all of it and a later server removes what a dead one left.
"""

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from docker import DockerClient
from docker.errors import APIError, NotFound
from docker.types import Mount

from ..environments.docker import labels
from ..environments.docker.containers import remove_containers
from ..environments.docker.engine import EngineError, connect, inspect_image, where
from .definitions import ServiceDefinition
from .running import (
    ServiceReport,
    not_answering,
    wait_until_answering,
    with_output,
)

PUBLISHED_ON = "127.0.0.1"
TAIL_LINES = 20
ImageResolver = Callable[[str], Awaitable[str]]
"""The image to run for a service's `image` (an `environment@<uuid>` names a build)."""


class SessionNetwork:
    """A session's Docker network, and the engine client its services use."""

    def __init__(self, group: str) -> None:
        self.group = group
        self.name = f"jupyter-orchest-session-{group[:12]}"
        self.client: DockerClient | None = None
        self._opening: asyncio.Future[DockerClient] | None = None
        self.problem = ""
        """Why the network could not be made, if it could not."""

    async def open(self) -> bool:
        """Make the network (after removing what dead servers left); False if it could not
        be made, with `problem` saying why."""
        # Shielded: a session stopped while its network is made must still find it.
        self._opening = asyncio.ensure_future(asyncio.to_thread(self._connect_and_create))
        try:
            self.client = await asyncio.shield(self._opening)
        except EngineError as error:
            self.problem = f"The session's Docker network could not be made ({where()}): {error}"
            return False
        return True

    async def close(self) -> None:
        """Remove every container of the session, then the network."""
        if self._opening is not None and self.client is None:
            await asyncio.wait([self._opening])
            if self._opening.exception() is None:
                self.client = self._opening.result()
        client, self.client = self.client, None
        if client is None:
            return
        # If the engine is gone, all of it went with it (a later server cleans up otherwise).
        with contextlib.suppress(*EngineError):
            await asyncio.to_thread(self._remove_all, client)
        await asyncio.to_thread(client.close)

    def _connect_and_create(self) -> DockerClient:
        client = connect()
        try:
            labels.remove_leftovers(client)
            labels.remove_leftover_networks(client)
            client.api.create_network(
                self.name, driver="bridge", labels=labels.container_labels(self.group, "network")
            )
        except BaseException:
            client.close()
            raise
        return client

    def _remove_all(self, client: DockerClient) -> None:
        remove_containers(client, labels.containers_labelled(client, labels.GROUP, self.group))
        with contextlib.suppress(NotFound):
            client.api.remove_network(self.name)


class ContainerService:
    """One service in a container on the session's network (see the module's docs)."""

    def __init__(
        self,
        service: ServiceDefinition,
        *,
        network: SessionNetwork,
        project_dir: Path,
        data_dir: Path,
        environment: Mapping[str, str],
        resolve_image: ImageResolver,
        report: ServiceReport,
        grace_period: float,
    ) -> None:
        self.service = service
        self.network = network
        self.project_dir, self.data_dir = project_dir, data_dir
        self.environment = dict(environment)
        self.resolve_image = resolve_image
        self.report = report
        self.internal_hostname = service.name  # its alias on the session's network
        self.grace_period = grace_period
        self._starting: asyncio.Future[str] | None = None
        self.container_id: str | None = None
        self._ended = asyncio.Event()
        self._reporting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        name = self.service.name
        client = self.network.client
        if client is None:
            self.report.failed(self.network.problem)
            return
        if not self.service.image:
            self.report.failed(f"The service {name!r} has no image: choose the image it runs.")
            return
        try:
            image = await self.resolve_image(self.service.image)
            if await asyncio.to_thread(inspect_image, client, image) is None:
                self.report.failed(
                    f"The image {image!r} of the service {name!r} is not in the Docker engine, "
                    f"and images are not pulled here: pull, load or build it (e.g. `docker "
                    f"pull {image}`), then start the session again."
                )
                return
            if "/data" in self.service.binds:
                # Made here, as the user: Docker would make a missing folder as root.
                await asyncio.to_thread(self.data_dir.mkdir, parents=True, exist_ok=True)
            # Shielded: a start cancelled while the container is made must not lose it.
            self._starting = asyncio.ensure_future(
                asyncio.to_thread(self._create_and_start, client, image)
            )
            self.container_id = await asyncio.shield(self._starting)
            _watch(client, self.container_id, self._exited)
            address, urls = await asyncio.to_thread(self._addresses, client, self.container_id)
        except (ValueError, *EngineError) as error:
            self.report.failed(f"The service {name!r} could not start: {_reason(error)}")
            return
        silent = await wait_until_answering(address, self.service.ports, self._ended)
        if not self._ended.is_set():
            self.report.running(urls, not_answering(silent) if silent is not None else "")

    async def stop(self) -> None:
        self.report.stopping = True
        if self._starting is not None and self.container_id is None:
            await asyncio.wait([self._starting])
            if self._starting.exception() is None:
                self.container_id = self._starting.result()
        client, container_id = self.network.client, self.container_id
        if client is not None and container_id is not None:
            with contextlib.suppress(*EngineError):
                await asyncio.to_thread(self._stop, client, container_id)
        self.report.stopped()

    def _create_and_start(self, client: DockerClient, image: str) -> str:
        """The container, created and started; its id. Blocking."""
        service = self.service
        folders = {"/data": self.data_dir, "/project-dir": self.project_dir}
        api = client.api
        host_config = api.create_host_config(
            mounts=[
                Mount(target, str(folders[source]), type="bind")
                for source, target in service.binds.items()
            ],
            port_bindings={port: (PUBLISHED_ON,) for port in service.ports},
            network_mode=self.network.name,
            # A process that is PID 1 ignores SIGTERM unless it handles it: an init passes
            # the stop signal on, so that services stop at once rather than after the grace.
            init=True,
        )
        endpoint = api.create_endpoint_config(aliases=[service.name])
        entrypoint, command = docker_command(service)
        created = api.create_container(
            image,
            command=command,
            entrypoint=entrypoint,
            environment=self.environment,
            labels={
                **labels.container_labels(self.network.group, "service"),
                labels.PREFIX + "service": service.name,
            },
            ports=list(service.ports),
            host_config=host_config,
            # Docker takes endpoints by network name; the type stubs say otherwise.
            networking_config=api.create_networking_config(
                {self.network.name: endpoint}  # type: ignore[arg-type]
            ),
            name=f"jupyter-orchest-{service.name}-{self.network.group[:8]}",
        )
        container_id = str(created["Id"])
        try:
            api.start(container_id)
        except BaseException:
            remove_containers(client, [container_id])
            raise
        return container_id

    def _addresses(self, client: DockerClient, container_id: str) -> tuple[str, dict[int, str]]:
        """Its address on the session's network, and the URLs of its published ports."""
        settings = client.api.inspect_container(container_id)["NetworkSettings"]
        address = str((settings.get("Networks") or {}).get(self.network.name, {}).get("IPAddress"))
        published = settings.get("Ports") or {}
        urls = {}
        for port in self.service.ports:
            for binding in published.get(f"{port}/tcp") or []:
                urls[port] = f"http://{binding['HostIp']}:{binding['HostPort']}/"
        return address, urls

    def _stop(self, client: DockerClient, container_id: str) -> None:
        with contextlib.suppress(NotFound, APIError):
            client.api.stop(container_id, timeout=max(1, round(self.grace_period)))
        remove_containers(client, [container_id])

    def _exited(self, code: int | None) -> None:
        """On the event loop: the container ended (or was removed)."""
        self._ended.set()
        if not self.report.stopping:
            self._reporting = asyncio.ensure_future(self._report_exit(code))

    async def _report_exit(self, code: int | None) -> None:
        client, container_id = self.network.client, self.container_id
        output = ""
        if client is not None and container_id is not None:
            with contextlib.suppress(*EngineError):
                logs = await asyncio.to_thread(client.api.logs, container_id, tail=TAIL_LINES)
                output = logs.decode("utf-8", errors="replace")
        ended = "ended" if code is None else f"exited with code {code}"
        self.report.failed(with_output(f"The service {self.service.name!r} {ended}.", output))


def docker_command(service: ServiceDefinition) -> tuple[list[str] | None, list[str] | None]:
    """(entrypoint, command) of its container; None keeps the image's. As in Orchest, a
    `command` replaces the image's entrypoint and `args` are its arguments; files written
    before Orchest ran on Kubernetes give `entrypoint`, then `command` as its arguments."""
    if service.entrypoint:
        return list(service.entrypoint), [*service.command, *service.args]
    if service.command:
        return list(service.command), list(service.args)
    return None, list(service.args) or None


def _watch(client: DockerClient, container_id: str, exited: Callable[[int | None], None]) -> None:
    """Call `exited` on the loop once the container ends, from a thread of its own (a
    service may run for days: it must not hold one of asyncio's shared worker threads)."""
    loop = asyncio.get_running_loop()

    def wait() -> None:
        code: int | None
        try:
            code = int(client.api.wait(container_id, timeout=None)["StatusCode"])
        except Exception:  # removed, or the engine left: the service is gone either way
            code = None
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
            loop.call_soon_threadsafe(exited, code)

    threading.Thread(target=wait, daemon=True).start()


def _reason(error: BaseException) -> str:
    explanation: Any = getattr(error, "explanation", None)
    return str(explanation or error)
