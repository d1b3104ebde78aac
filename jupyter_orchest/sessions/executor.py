"""The executor of a session's interactive runs: the session's own executor (its kernels,
its containers on the session's network), once the session is up, with the session's
services given to every step."""

import dataclasses
from typing import Protocol

from ..engine.model import StepExecutor, StepReporter, StepResult, StepTask, executor_name


class SessionSide(Protocol):
    """What the executor needs of its session."""

    @property
    def running(self) -> bool: ...

    async def wait_until_running(self, reporter: StepReporter) -> str | None:
        """Wait while the session starts; None once it runs, else why steps cannot run."""

    def step_variables(self) -> dict[str, str]:
        """The variables the session gives every step (its services)."""

    def step_finished(self) -> None:
        """A step of the session ended (its kernels may need to be started again)."""


class SessionExecutor:
    """See the module's docs. Its own executor is started and shut down by the session."""

    def __init__(self, inner: StepExecutor, session: SessionSide) -> None:
        self.inner = inner
        self.session = session

    @property
    def executor_name(self) -> str:
        return executor_name(self.inner)

    async def start(self) -> None:
        pass  # the session started its executor; steps wait for the session (see run_step)

    def expect(self, tasks: list[StepTask]) -> None:
        # Before the session runs, its own executor is not ready (nor its network): the
        # session warms its steps' kernels itself once it is.
        if self.session.running:
            self.inner.expect([self._with_session(task) for task in tasks])

    async def run_step(self, task: StepTask, reporter: StepReporter) -> StepResult:
        problem = await self.session.wait_until_running(reporter)
        if problem is not None:
            return StepResult(False, problem)
        try:
            return await self.inner.run_step(self._with_session(task), reporter)
        finally:
            self.session.step_finished()

    async def environment_identity(self, task: StepTask) -> str:
        return await self.inner.environment_identity(task)

    async def orchest_paths_unavailable(self, task: StepTask) -> str:
        return await self.inner.orchest_paths_unavailable(task)

    async def shutdown(self) -> None:
        pass  # the session shuts its executor down when it stops

    def _with_session(self, task: StepTask) -> StepTask:
        # The step's own variables win: none of the session's may replace what the SDK needs.
        return dataclasses.replace(task, env={**self.session.step_variables(), **task.env})
