"""Attempts: a step tried again after it fails, and stopped when an attempt takes too long.

One implementation for every executor (local, Docker, Ray): `StepAttempts` stands between the
cache and the executor, so a step restored from the cache is never tried again, and only what
really runs is. Each attempt is a fresh `run_step` of the executor. A timeout cancels the
attempt, which every executor handles as it handles a cancelled run (interrupt, then kill
after its grace period, container removed) and returns from only once the step's processes
are gone; the attempt then fails with "timed out after N s".

Each attempt is recorded: the step's state says which attempt runs (a RUNNING event with
`attempt`), its log has an `[attempt N of M]` line before each attempt's output, and its
output's tail, error and outcome become one execution row of the step's provenance.
"""

import asyncio
import logging
from collections.abc import Coroutine
from datetime import datetime, timezone
from typing import Any

from .events import RunObserver, StepChanged
from .model import StepExecutor, StepReporter, StepResult, StepState, StepTask, Stream
from .provenance import BoundedLog, NoLedger, ProvenanceLedger, StepExecutionLog

log = logging.getLogger(__name__)


class StepAttempts:
    """A StepExecutor for one run that runs each step as its `AttemptPolicy` says."""

    def __init__(
        self,
        executor: StepExecutor,
        observer: RunObserver,
        pipeline_uuid: str,
        ledger: ProvenanceLedger | None = None,
    ) -> None:
        self.executor, self.observer, self.pipeline_uuid = executor, observer, pipeline_uuid
        self.ledger = ledger or NoLedger()

    async def start(self) -> None:
        await self.executor.start()

    def expect(self, tasks: list[StepTask]) -> None:
        self.executor.expect(tasks)

    async def environment_identity(self, task: StepTask) -> str:
        return await self.executor.environment_identity(task)

    async def orchest_paths_unavailable(self, task: StepTask) -> str:
        return await self.executor.orchest_paths_unavailable(task)

    async def shutdown(self) -> None:
        pass  # the executor is shared: whoever made it shuts it down

    async def run_step(self, task: StepTask, reporter: StepReporter) -> StepResult:
        policy = task.attempts
        number = 1
        while True:
            if policy.tries > 1:
                reporter.log("stdout", f"[attempt {number} of {policy.tries}]\n")
            result = await self._attempt(task, reporter, number)
            if result.succeeded or number == policy.tries:
                message = result.message
                if number > 1 and not result.succeeded:
                    message += f" (attempt {number} of {policy.tries})"
                return StepResult(result.succeeded, message, attempts=number)
            number += 1
            then = f" in {policy.retry_delay:g} s" if policy.retry_delay else ""
            reporter.log("stdout", f"[attempt {number - 1} failed: {result.message}]\n")
            self._attempt_changed(
                task, number, f"Attempt {number - 1} failed ({result.message}): trying again{then}."
            )
            await asyncio.sleep(policy.retry_delay)  # a cancelled run stops here at once

    async def _attempt(self, task: StepTask, reporter: StepReporter, number: int) -> StepResult:
        """One attempt, its output kept for its execution row."""
        output = _AttemptOutput(reporter)
        try:
            result = await _within(self.executor.run_step(task, output), task.attempts.timeout)
        except asyncio.CancelledError:
            self._record(task, output, StepResult(False, "The step was cancelled."), number)
            raise
        self._record(task, output, result, number)
        return result

    def _record(
        self, task: StepTask, output: "_AttemptOutput", result: StepResult, number: int
    ) -> None:
        """The attempt's execution row: written at once, as a cancelled step must not wait
        (a row is a small INSERT)."""
        execution = StepExecutionLog(
            run_id=task.run_id,
            step_uuid=task.step_uuid,
            title=task.title,
            at=datetime.now(timezone.utc),
            stdout=output.kept.text("stdout"),
            stderr=output.kept.text("stderr"),
            traceback=output.kept.traceback(),
            error=result.message,
            success=result.succeeded,
        )
        try:
            self.ledger.record_execution(execution)
        except Exception:  # the step's outcome must not depend on its bookkeeping
            log.exception("attempt %d of step %s was not recorded", number, task.step_uuid)

    def _attempt_changed(self, task: StepTask, number: int, message: str) -> None:
        self.observer.step_changed(
            StepChanged(
                task.run_id,
                self.pipeline_uuid,
                task.step_uuid,
                task.title,
                StepState.RUNNING,
                datetime.now(timezone.utc),
                message,
                attempt=number,
                attempts=task.attempts.tries,
            )
        )


async def _within(work: Coroutine[Any, Any, StepResult], timeout: float | None) -> StepResult:
    """The attempt's result. One that takes more than `timeout` seconds is cancelled, and
    fails once the executor has stopped it."""
    if timeout is None:
        return await work
    attempt = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait([attempt], timeout=timeout)
    except asyncio.CancelledError:
        await _stop(attempt)
        raise
    if done:
        return attempt.result()
    await _stop(attempt)
    return StepResult(False, f"timed out after {timeout:g} s")


async def _stop(attempt: "asyncio.Future[StepResult]") -> None:
    """Cancel the attempt and wait until the executor has stopped the step's processes."""
    attempt.cancel()
    await asyncio.gather(attempt, return_exceptions=True)


class _AttemptOutput:
    """Passes what the step prints on, and keeps a bounded copy for the attempt's row."""

    def __init__(self, reporter: StepReporter) -> None:
        self.reporter = reporter
        self.kept = BoundedLog()

    def log(self, stream: Stream, text: str) -> None:
        self.kept.add(stream, text)
        self.reporter.log(stream, text)
