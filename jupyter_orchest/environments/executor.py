"""The executor runs use when environments are on: each step runs in its environment's build,
with that build's own executor.

For every step it finds the step's environment (the one the step names in its project, or
the project's default), makes sure a build of the environment's current files exists
(building it first, with a line in the step's log, and failing the step with the build's
message if the build fails), and hands the step to the build's executor. There is one
executor per build, started at its first step, kept for the steps and runs that follow, and
shut down when a newer build of its environment takes over or when this one shuts down.
"""

import asyncio
import logging
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from ..engine.executors import LocalExecutor
from ..engine.executors.orchest_mounts import namespaces_unavailable
from ..engine.model import StepExecutor, StepReporter, StepResult, StepTask
from .builds import Builds, EnvironmentUnavailable, Ready
from .local import LocalBackend
from .model import BackendUnavailable, BuiltEnvironment

log = logging.getLogger(__name__)

BuildKey = tuple[str, str, str, int]
"""(backend, project folder, environment uuid, build number)."""


@dataclass(frozen=True)
class _Resolved:
    """What finding a step's build before it ran (for its cache key) has to tell the step."""

    notes: list[str]
    failure: str | None


@dataclass
class _Slot:
    """A build's executor and the steps running in it."""

    executor: StepExecutor
    started: "asyncio.Task[None]"
    steps: int = 0
    retired: bool = False
    """A newer build of the environment took over: shut down once its steps are done."""


class EnvironmentExecutor:
    """See the module's docs. `executor_for` makes a build's executor (by default, as its
    backend makes them; an interactive session's puts its containers on its network)."""

    def __init__(
        self, builds: Builds, executor_for: Callable[[Ready], StepExecutor] | None = None
    ) -> None:
        self.builds = builds
        self._executor_for = executor_for or _backend_executor
        self._slots: dict[BuildKey, _Slot] = {}
        self._forwarding: set[asyncio.Task[None]] = set()
        """Expectations waiting for their build to be found: cancelled at shutdown."""
        self._retiring: set[asyncio.Task[None]] = set()
        """Executors of superseded builds shutting down: awaited at shutdown."""
        self._resolved: dict[tuple[str, str], _Resolved] = {}
        """By (run id, step uuid): steps whose build was found by `environment_identity`."""
        builds.on_removal(self._forget)

    async def start(self) -> None:
        # Executors start with their build's first step; whether steps can get mount
        # namespaces here is found out now (a probe process), not on a run's way.
        await namespaces_unavailable()

    def expect(self, tasks: list[StepTask]) -> None:
        groups: dict[tuple[Path, str], list[StepTask]] = defaultdict(list)
        for task in tasks:
            project = _environments_project(task)
            if project is not None:
                groups[(project, task.environment)].append(task)
        for (project, environment), expected in groups.items():
            self._in_background(
                self._forward_expectation(project, environment, expected), self._forwarding
            )

    async def environment_identity(self, task: StepTask) -> str:
        """The fingerprint of the step's build, built first if need be (a build of the same
        files may install other versions, so only a build says what software a step gets)."""
        project = _environments_project(task)
        if project is None:
            return ""  # the step will fail, and say why
        notes: list[str] = []
        try:
            ready = await self.builds.ensure_built(project, task.environment, notes.append)
        except EnvironmentUnavailable as error:
            self._resolved[_task_id(task)] = _Resolved(notes, str(error))
            return ""
        if notes:
            self._resolved[_task_id(task)] = _Resolved(notes, None)
        return f"{ready.built.backend}:{ready.built.fingerprint}"

    async def orchest_paths_unavailable(self, task: StepTask) -> str:
        """Containers mount /data and /project-dir; virtual environments' steps see them
        where mount namespaces can be made (see LocalExecutor)."""
        try:
            backend = await self.builds.backends.get()
        except BackendUnavailable:
            return ""  # the step fails, and says why
        return await namespaces_unavailable() if backend.name == LocalBackend.name else ""

    async def run_step(self, task: StepTask, reporter: StepReporter) -> StepResult:
        project = _environments_project(task)
        if project is None:
            return StepResult(False, "The step has no project, so it has no environment.")
        resolved = self._resolved.pop(_task_id(task), None)
        if resolved is not None:
            for note in resolved.notes:
                reporter.log("stdout", note)
            if resolved.failure is not None:
                return StepResult(False, resolved.failure)  # not built twice for one step
        try:
            ready = await self.builds.ensure_built(
                project, task.environment, lambda text: reporter.log("stdout", text)
            )
        except EnvironmentUnavailable as error:
            return StepResult(False, str(error))
        with self.builds.hold(project, ready.environment.uuid):
            try:
                slot = await self._slot(ready)
            except (OSError, ValueError, KeyError) as error:
                return StepResult(
                    False,
                    f"Build {ready.built.number} of the environment {ready.environment.name!r} "
                    f"cannot be used ({error}): build the environment again.",
                )
            slot.steps += 1
            try:
                return await slot.executor.run_step(task, reporter)
            finally:
                slot.steps -= 1
                if slot.retired and not slot.steps:
                    self._in_background(slot.executor.shutdown(), self._retiring)

    def warm_kernels(self) -> Counter[str]:
        """Kernels started ahead of need and ready, by environment uuid."""
        kernels: Counter[str] = Counter()
        for key, slot in self._slots.items():
            if isinstance(slot.executor, LocalExecutor):
                kernels[key[2]] += slot.executor.warm_kernels()
        return kernels

    async def shutdown(self) -> None:
        self.builds.off_removal(self._forget)
        for task in self._forwarding:
            task.cancel()
        await asyncio.gather(*self._forwarding, return_exceptions=True)
        slots = list(self._slots.values())
        self._slots.clear()
        await asyncio.gather(
            *self._retiring,
            *(slot.executor.shutdown() for slot in slots),
            return_exceptions=True,
        )

    async def _forward_expectation(
        self, project: Path, environment: str, tasks: list[StepTask]
    ) -> None:
        """Let the build's executor start kernels early, if the build exists already."""
        ready = await self.builds.current(project, environment)
        if ready is not None:
            slot = await self._slot(ready)
            slot.executor.expect(tasks)

    async def _slot(self, ready: Ready) -> _Slot:
        """The running executor of the build, started at first use."""
        key = _build_key(ready.built)
        slot = self._slots.get(key)
        if slot is None:
            executor = self._executor_for(ready)
            slot = _Slot(executor, asyncio.ensure_future(executor.start()))
            self._slots[key] = slot
            for other_key, other in list(self._slots.items()):
                if other_key[:3] == key[:3] and other_key[3] < key[3]:
                    self._retire(other_key, other)
        await asyncio.shield(slot.started)
        return slot

    def _retire(self, key: BuildKey, slot: _Slot) -> None:
        del self._slots[key]
        slot.retired = True
        if not slot.steps:
            self._in_background(slot.executor.shutdown(), self._retiring)

    async def _forget(self, built: BuiltEnvironment) -> None:
        """The build is about to be removed: stop its executor first."""
        slot = self._slots.pop(_build_key(built), None)
        if slot is not None:
            await slot.executor.shutdown()

    @staticmethod
    def _in_background(work: Awaitable[None], tasks: set["asyncio.Task[None]"]) -> None:
        task = asyncio.ensure_future(work)
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        task.add_done_callback(_log_failure)


def _backend_executor(ready: Ready) -> StepExecutor:
    return ready.backend.executor(ready.built)


def _environments_project(task: StepTask) -> Path | None:
    return task.environments_project_dir or task.project_dir


def _task_id(task: StepTask) -> tuple[str, str]:
    return (task.run_id, task.step_uuid)


def _build_key(built: BuiltEnvironment) -> BuildKey:
    return (built.backend, str(built.project_dir), built.environment_uuid, built.number)


def _log_failure(task: "asyncio.Task[None]") -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("An environment's executor failed in the background: %s", task.exception())
