"""Builds of environments: started on request or when a step needs its environment, one at a
time per environment (a second request joins the build under way), recorded in the database,
logged to `<project>/.orchest/builds/<environment uuid>/<number>.log` and to the observer as
they go, cancellable.

A step runs in the newest successful build whose inputs (see `inputs_hash`) match its
environment's current files; when there is none, one is built first. A successful build
installs its environment's kernelspec for JupyterLab; older builds are removed once no step
uses the environment (the one before the newest stays, for JupyterLab kernels started from
it).
"""

import asyncio
import contextlib
import hashlib
import json
import logging
import shutil
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..store import BuildRecord, BuildStore, DatabaseUnavailable
from .backends import BackendChoice
from .definition import (
    EnvironmentNotFound,
    MalformedEnvironment,
    read_environment,
    resolve_environment,
)
from .events import BuildChanged, BuildLogged, BuildObserver, NoOpBuildObserver
from .kernelspecs import KernelspecFolder, display_name
from .model import (
    BackendUnavailable,
    BuildFailed,
    BuildRequest,
    BuildState,
    BuiltEnvironment,
    Environment,
    EnvironmentBackend,
)

log = logging.getLogger(__name__)

BUILDS_FOLDER = Path(".orchest") / "builds"
RESTART_REASON = "The process building it stopped before the build finished."
CANCELLED = "The build was cancelled."
KEPT_BUILDS = 2
"""Successful builds of an environment kept: the newest and the one before it."""

Key = tuple[str, str]
"""(project folder, environment uuid)."""


class EnvironmentUnavailable(Exception):
    """A step cannot run in its environment; the message says why and what to do."""


class EnvironmentInUse(Exception):
    """Steps are running in the environment."""


@dataclass(frozen=True)
class Ready:
    """A step's environment, built and there."""

    environment: Environment
    built: BuiltEnvironment
    backend: EnvironmentBackend


@dataclass
class _ActiveBuild:
    record: BuildRecord
    environment: Environment
    task: "asyncio.Task[BuiltEnvironment]"


def build_log_path(project_dir: Path, environment_uuid: str, number: int) -> Path:
    return project_dir / BUILDS_FOLDER / environment_uuid / f"{number}.log"


def inputs_hash(environment: Environment, image: str) -> str:
    """What a build is made from: the environment's properties (not its name, which is only
    shown), its setup script, and the image its base image maps to."""
    inputs = {
        "base_image": environment.base_image,
        "image": image,
        "language": environment.language,
        "gpu_support": environment.gpu_support,
        "extra": dict(environment.extra),
        "setup_script": environment.setup_script,
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def built_from(record: BuildRecord) -> BuiltEnvironment:
    return BuiltEnvironment(
        backend=record.backend,
        environment_uuid=record.environment_uuid,
        project_dir=Path(record.project_dir),
        number=record.number,
        reference=record.reference,
        fingerprint=record.fingerprint,
    )


class Builds:
    """See the module's docs. `label` names a project in events (the server: its path
    relative to the root folder)."""

    def __init__(
        self,
        backends: BackendChoice,
        store: BuildStore,
        kernelspecs: KernelspecFolder,
        *,
        observer: BuildObserver | None = None,
        label: Callable[[Path], str] = str,
    ) -> None:
        self.backends, self.store, self.kernelspecs = backends, store, kernelspecs
        self.observer = observer or NoOpBuildObserver()
        self.label = label
        self._active: dict[Key, _ActiveBuild] = {}
        self._holds: Counter[Key] = Counter()
        self._background: set[asyncio.Task[None]] = set()
        self._forget: list[Callable[[BuiltEnvironment], Awaitable[None]]] = []
        try:
            aborted = store.abort_orphaned(RESTART_REASON)
        except DatabaseUnavailable:
            aborted = []  # the database logged why; starting a build will say so too
        if aborted:
            log.warning("Marked %d interrupted environment builds as aborted", len(aborted))

    def on_removal(self, forget: Callable[[BuiltEnvironment], Awaitable[None]]) -> None:
        """Have `forget` called before what a build made is removed (to stop its kernels)."""
        self._forget.append(forget)

    def off_removal(self, forget: Callable[[BuiltEnvironment], Awaitable[None]]) -> None:
        """Stop calling `forget` (its executor shut down)."""
        if forget in self._forget:
            self._forget.remove(forget)

    def image_for(self, environment: Environment) -> str:
        images = self.backends.settings.base_images
        return images.get(environment.base_image, environment.base_image)

    def inputs_hash(self, environment: Environment) -> str:
        return inputs_hash(environment, self.image_for(environment))

    # Building

    async def start(self, project_dir: Path, uuid: str) -> tuple[BuildRecord, bool]:
        """Build the environment's current files, or join the build under way: the build's
        record, and whether it was started now. Raises EnvironmentNotFound,
        MalformedEnvironment, BackendUnavailable."""
        environment = read_environment(project_dir, uuid)
        backend = await self.backends.get()
        await backend.check()
        active = self._active.get(_key(project_dir, uuid))  # looked up after the awaits
        if active is not None:
            return active.record, False
        return self._launch(environment, backend).record, True

    async def ensure_built(
        self, project_dir: Path, uuid: str, note: Callable[[str], None]
    ) -> Ready:
        """The environment a step runs in (`uuid`, or the project's default when empty),
        built first if need be; `note` hears of the build. Raises EnvironmentUnavailable."""
        while True:
            environment, backend = await self._resolve(project_dir, uuid)
            ready = await self._present(environment, backend)
            if ready is not None:
                return ready
            key = _key(project_dir, environment.uuid)
            name, inputs = environment.name, self.inputs_hash(environment)
            if key not in self._active:
                try:
                    await backend.check()
                except BackendUnavailable as error:
                    raise EnvironmentUnavailable(str(error)) from None
            active = self._active.get(key)  # looked up after the awaits
            if active is None:
                active = self._launch(environment, backend)
                note(f"Building the environment {name!r} (build {active.record.number})…\n")
            elif active.record.inputs_hash != inputs:
                # Built from files that changed since: let it finish, then build again.
                note(f"Waiting for build {active.record.number} of the environment {name!r}…\n")
                await _settled(active.task)
                continue
            else:
                note(f"Waiting for build {active.record.number} of the environment {name!r}…\n")
            await _settled(active.task)
            return Ready(environment, self._outcome(active), backend)

    async def current(self, project_dir: Path, uuid: str) -> Ready | None:
        """The environment's build that a step would run in now, if there is one (without
        building anything)."""
        try:
            environment, backend = await self._resolve(project_dir, uuid)
            return await self._present(environment, backend)
        except EnvironmentUnavailable:
            return None

    async def wait(self, project_dir: Path, uuid: str, number: int) -> BuildRecord | None:
        """The build's record once it is finished."""
        active = self._active.get(_key(project_dir, uuid))
        if active is not None and active.record.number == number:
            await _settled(active.task)
        return self.store.get_build(str(project_dir), uuid, number)

    def cancel(self, project_dir: Path, uuid: str, number: int) -> bool:
        """Cancel the build if it is under way; False if it is not."""
        active = self._active.get(_key(project_dir, uuid))
        if active is None or active.record.number != number:
            return False
        active.task.cancel()
        return True

    # Use and removal

    @contextlib.contextmanager
    def hold(self, project_dir: Path, uuid: str) -> Iterator[None]:
        """Marks the environment as used by a step while the block runs."""
        key = _key(project_dir, uuid)
        self._holds[key] += 1
        try:
            yield
        finally:
            self._holds[key] -= 1
            if not self._holds[key]:
                del self._holds[key]
                self._in_background(self._prune(project_dir, uuid))

    def in_use(self, project_dir: Path, uuid: str) -> bool:
        return self._holds[_key(project_dir, uuid)] > 0

    async def remove_environment(self, project_dir: Path, uuid: str) -> None:
        """Remove what every build of the environment made, their records and their logs,
        and its kernelspec. Raises EnvironmentInUse while steps run in it."""
        if self.in_use(project_dir, uuid):
            raise EnvironmentInUse(uuid)
        active = self._active.get(_key(project_dir, uuid))
        if active is not None:
            active.task.cancel()
            await _settled(active.task)
        for record in self.store.list_builds(str(project_dir), uuid):
            if record.state == BuildState.SUCCESS and record.removed_at is None:
                await self._remove(built_from(record))
        self.store.delete_builds(str(project_dir), uuid)
        shutil.rmtree(project_dir / BUILDS_FOLDER / uuid, ignore_errors=True)
        self.kernelspecs.remove(f"orchest-kernel-{uuid}", project_dir)

    async def shutdown(self) -> None:
        """Cancel the builds under way (they leave nothing behind) and wait for them."""
        for active in list(self._active.values()):
            active.task.cancel()
        tasks = [active.task for active in self._active.values()]
        await asyncio.gather(*tasks, *self._background, return_exceptions=True)

    # Internals

    async def _resolve(
        self, project_dir: Path, uuid: str
    ) -> tuple[Environment, EnvironmentBackend]:
        try:
            environment = resolve_environment(project_dir, uuid)
            backend = await self.backends.get()
        except (EnvironmentNotFound, MalformedEnvironment, BackendUnavailable) as error:
            raise EnvironmentUnavailable(str(error)) from None
        return environment, backend

    async def _present(self, environment: Environment, backend: EnvironmentBackend) -> Ready | None:
        """The newest successful build of the environment's current files, if there is one;
        EnvironmentUnavailable if it was removed behind our back."""
        record = self.store.latest_success(
            str(environment.project_dir),
            environment.uuid,
            backend.name,
            self.inputs_hash(environment),
        )
        if record is None:
            return None
        built = built_from(record)
        if not await backend.is_present(built):
            raise EnvironmentUnavailable(
                f"Build {record.number} of the environment {environment.name!r} is gone "
                f"({built.reference} was removed outside jupyter-orchest): build the "
                "environment again."
            )
        return Ready(environment, built, backend)

    def _launch(self, environment: Environment, backend: EnvironmentBackend) -> _ActiveBuild:
        record = self.store.add_build(
            str(environment.project_dir),
            environment.uuid,
            backend.name,
            self.inputs_hash(environment),
        )
        self._changed(environment, record, BuildState.PENDING)
        task = asyncio.ensure_future(self._build(environment, backend, record))
        key = _key(environment.project_dir, environment.uuid)
        active = _ActiveBuild(record, environment, task)
        self._active[key] = active
        task.add_done_callback(lambda _: self._active.pop(key, None))
        return active

    async def _build(
        self, environment: Environment, backend: EnvironmentBackend, record: BuildRecord
    ) -> BuiltEnvironment:
        log_path = build_log_path(environment.project_dir, environment.uuid, record.number)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        label = self.label(environment.project_dir)
        with open(log_path, "a", encoding="utf-8") as log_file:

            def write(text: str) -> None:
                log_file.write(text)
                log_file.flush()
                event = BuildLogged(label, environment.uuid, record.number, text)
                self.observer.build_logged(event)

            self._changed(environment, record, BuildState.BUILDING, started_at=_now())
            try:
                built = await backend.build(BuildRequest(environment, record.number, write))
                self._install_kernelspec(environment, built, backend, write)
            except asyncio.CancelledError:
                write(f"\n{CANCELLED}\n")
                self._finished(environment, record, BuildState.ABORTED, CANCELLED)
                raise
            except (BuildFailed, BackendUnavailable) as error:
                self._finished(environment, record, BuildState.FAILURE, str(error))
                raise BuildFailed(str(error)) from None
            except Exception as error:
                log.exception("Build %d of environment %s failed", record.number, environment.uuid)
                message = f"The build failed unexpectedly: {error}"
                write(f"\n{message}\n")
                self._finished(environment, record, BuildState.FAILURE, message)
                raise BuildFailed(message) from None
        self._finished(
            environment,
            record,
            BuildState.SUCCESS,
            reference=built.reference,
            fingerprint=built.fingerprint,
        )
        self._in_background(self._prune(environment.project_dir, environment.uuid))
        return built

    def _install_kernelspec(
        self,
        environment: Environment,
        built: BuiltEnvironment,
        backend: EnvironmentBackend,
        write: Callable[[str], None],
    ) -> None:
        # Steps can run without it: a kernelspec that cannot be made is only reported.
        try:
            self.kernelspecs.install(
                environment.kernel_name,
                backend.kernelspec(built, environment),
                display_name=display_name(environment.name, environment.project_dir),
                project_dir=environment.project_dir,
                environment_uuid=environment.uuid,
                number=built.number,
            )
        except BackendUnavailable as error:
            write(f"{error}\n")
        except OSError as error:
            write(f"The environment's kernel for JupyterLab could not be installed: {error}\n")

    def _outcome(self, active: _ActiveBuild) -> BuiltEnvironment:
        """What a finished build made, or EnvironmentUnavailable saying why it made nothing."""
        number, name = active.record.number, active.environment.name
        if active.task.cancelled():
            raise EnvironmentUnavailable(
                f"Build {number} of the environment {name!r} was cancelled."
            )
        error = active.task.exception()
        if error is not None:
            raise EnvironmentUnavailable(
                f"The environment {name!r} could not be built (build {number}): {error}"
            )
        return active.task.result()

    async def _prune(self, project_dir: Path, uuid: str) -> None:
        """Remove the superseded builds of the environment, unless steps are running in it.
        The build before the newest stays: JupyterLab kernels started from it before the new
        build replaced its kernelspec may still be running."""
        if self.in_use(project_dir, uuid):
            return
        builds = [
            record
            for record in self.store.list_builds(str(project_dir), uuid)
            if record.state == BuildState.SUCCESS and record.removed_at is None
        ]
        for record in builds[KEPT_BUILDS:]:  # newest first
            await self._remove(built_from(record))
            self.store.update_build(record.id, removed_at=_now())

    async def _remove(self, built: BuiltEnvironment) -> None:
        """Remove what the build made, as far as its backend can here: what it cannot
        remove (its engine is gone, say) is logged and left, and never stops the caller."""
        backend = self.backends.named(built.backend)
        if backend is None:
            log.warning(
                "Build %s of %s left in place: no %s backend here",
                built.number,
                built.environment_uuid,
                built.backend,
            )
            return
        for forget in self._forget:
            await forget(built)
        try:
            await backend.remove(built)
        except Exception as error:
            log.warning(
                "Build %s of %s could not be removed: %s",
                built.number,
                built.environment_uuid,
                error,
            )

    def _changed(
        self,
        environment: Environment,
        record: BuildRecord,
        state: BuildState,
        message: str = "",
        **values: Any,
    ) -> None:
        self.store.update_build(record.id, state=state.value, message=message, **values)
        self.observer.build_changed(
            BuildChanged(
                project=self.label(environment.project_dir),
                environment_uuid=environment.uuid,
                environment_name=environment.name,
                number=record.number,
                backend=record.backend,
                state=state,
                at=_now(),
                message=message,
            )
        )

    def _finished(
        self,
        environment: Environment,
        record: BuildRecord,
        state: BuildState,
        message: str = "",
        **values: Any,
    ) -> None:
        self._changed(environment, record, state, message, finished_at=_now(), **values)

    def _in_background(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_log_failure)


def _key(project_dir: Path, uuid: str) -> Key:
    return (str(project_dir), uuid)


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def _settled(task: "asyncio.Future[Any]") -> None:
    """Wait until the task is done, whatever its outcome, without cancelling it when the
    waiter is cancelled."""
    await asyncio.wait([task])


def _log_failure(task: "asyncio.Task[None]") -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("Removing superseded environment builds failed: %s", task.exception())
