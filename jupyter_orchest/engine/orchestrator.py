"""Runs a planned pipeline: each step as soon as its parents are computed, several at once."""

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, cast

from .events import RunChanged, RunObserver, StepChanged, StepLogged
from .model import RunState, StepExecutor, StepRefused, StepResult, StepState, StepTask, Stream
from .orchest_paths import refusal
from .planning import PlannedStep, RunPlan

log = logging.getLogger(__name__)


def now() -> datetime:
    return datetime.now(timezone.utc)


class _StepReporter:
    def __init__(self, runner: "PipelineRunner", step: PlannedStep) -> None:
        self.runner, self.step = runner, step
        self.offset = 0
        """Bytes of the step's log so far."""

    def log(self, stream: Stream, text: str) -> None:
        runner = self.runner
        runner.observer.step_logged(
            StepLogged(
                runner.run_id, runner.pipeline_uuid, self.step.uuid, stream, text, self.offset
            )
        )
        # isascii() is free for the usual text; encoding costs a copy.
        self.offset += len(text) if text.isascii() else len(text.encode(errors="replace"))


class PipelineRunner:
    """One run of one pipeline. `run()` returns its final state; `cancel()` stops it."""

    def __init__(
        self,
        *,
        run_id: str,
        pipeline_uuid: str,
        plan: RunPlan,
        executor: StepExecutor,
        observer: RunObserver,
        task_for: Callable[[PlannedStep], StepTask],
        before_step: Callable[[PlannedStep], None],
        parallelism: int,
        fail_fast: bool = False,
    ) -> None:
        self.run_id, self.pipeline_uuid, self.plan = run_id, pipeline_uuid, plan
        self.executor, self.observer = executor, observer
        self.task_for, self.before_step = task_for, before_step
        self.parallelism = max(1, parallelism)
        self.fail_fast = fail_fast
        self.states = {step.uuid: StepState.PENDING for step in plan.steps}
        self._cancelled = asyncio.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    async def run(self) -> RunState:
        self._run_changed(RunState.STARTED)
        for step in self.plan.steps:
            self._step_changed(step, StepState.PENDING)
        if await self._refuse_orchest_paths():
            return self._finish()
        self.executor.expect([self.task_for(step) for step in self._ready_steps()])
        running: dict[asyncio.Task[StepResult], PlannedStep] = {}
        cancel_requested = asyncio.ensure_future(self._cancelled.wait())
        try:
            while True:
                self._abort_orphans()
                for step in self._ready_steps()[: self.parallelism - len(running)]:
                    self.states[step.uuid] = StepState.RUNNING
                    running[asyncio.ensure_future(self._run_step(step))] = step
                    self._expect_children(step)
                if not running:
                    break
                waitables: list[asyncio.Future[Any]] = [*running, cancel_requested]
                done, _ = await asyncio.wait(waitables, return_when=asyncio.FIRST_COMPLETED)
                if cancel_requested in done:
                    await self._stop(running, "The run was cancelled.")
                    break
                for finished in done:
                    step = running.pop(cast("asyncio.Task[StepResult]", finished))
                    self._record_result(step, cast(StepResult, finished.result()))
                if self.fail_fast and StepState.FAILURE in self.states.values():
                    await self._stop(running, "Stopped because another step failed (fail fast).")
                    break
        finally:
            cancel_requested.cancel()
        return self._finish()

    async def _run_step(self, step: PlannedStep) -> StepResult:
        self._step_changed(step, StepState.RUNNING)
        if not step.file_path:
            return StepResult(False, "The step has no file: choose one in its properties.")
        try:
            self.before_step(step)
            return await self.executor.run_step(self.task_for(step), _StepReporter(self, step))
        except asyncio.CancelledError:
            raise
        except StepRefused as refusal:
            return StepResult(False, str(refusal))
        except Exception as error:  # a defect of ours must fail the step, not the server
            log.exception("Step %s of run %s failed in the engine", step.uuid, self.run_id)
            return StepResult(False, f"Internal error while running the step: {error}")

    async def _refuse_orchest_paths(self) -> bool:
        """Before anything runs: the steps that mention /data or /project-dir where they
        would not see them fail, saying where and what to do, and the others are not run
        (see `orchest_paths`). True if the run is refused."""
        refusals = {}
        for step in self.plan.steps:
            task = self.task_for(step)
            unavailable = await self.executor.orchest_paths_unavailable(task)
            if unavailable and step.file_path:
                refused = await asyncio.to_thread(refusal, task, unavailable)
                if refused is not None:
                    refusals[step.uuid] = refused
        if not refusals:
            return False
        titles = ", ".join(step.title for step in self.plan.steps if step.uuid in refusals)
        for step in self.plan.steps:
            if step.uuid in refusals:
                self._set(step, StepState.FAILURE, refusals[step.uuid])
            else:
                self._set(step, StepState.ABORTED, f"Not run: {titles} cannot run here.")
        return True

    def _ready_steps(self) -> list[PlannedStep]:
        return [
            step
            for step in self.plan.steps
            if self.states[step.uuid] == StepState.PENDING
            and all(self.states[parent] == StepState.COMPUTED for parent in step.parents)
        ]

    def _expect_children(self, step: PlannedStep) -> None:
        children = [self.plan.step(child) for child in step.children]
        if children:
            self.executor.expect([self.task_for(child) for child in children])

    def _abort_orphans(self) -> None:
        """Steps whose parent failed or was aborted will never run."""
        for step in self.plan.steps:
            if self.states[step.uuid] != StepState.PENDING:
                continue
            blocked = [
                self.plan.step(parent).title
                for parent in step.parents
                if self.states[parent] in (StepState.FAILURE, StepState.ABORTED)
            ]
            if blocked:
                self._set(
                    step, StepState.ABORTED, f"Not run: {', '.join(blocked)} did not succeed."
                )

    def _record_result(self, step: PlannedStep, result: StepResult) -> None:
        state = StepState.COMPUTED if result.succeeded else StepState.FAILURE
        self.states[step.uuid] = state
        self._step_changed(
            step, state, result.message, result.cached, result.reasons, result.attempts
        )

    async def _stop(self, running: dict[asyncio.Task[StepResult], PlannedStep], why: str) -> None:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        for step in self.plan.steps:
            if not self.states[step.uuid].finished:
                self._set(step, StepState.ABORTED, why)
        running.clear()

    def _finish(self) -> RunState:
        states = set(self.states.values())
        if StepState.FAILURE in states:
            failed = [s.title for s in self.plan.steps if self.states[s.uuid] == StepState.FAILURE]
            state, message = RunState.FAILURE, f"Failed: {', '.join(failed)}."
        elif self._cancelled.is_set() or StepState.ABORTED in states:
            state, message = RunState.ABORTED, "The run was cancelled."
        else:
            state, message = RunState.SUCCESS, ""
        self._run_changed(state, message)
        return state

    def _set(self, step: PlannedStep, state: StepState, message: str = "") -> None:
        self.states[step.uuid] = state
        self._step_changed(step, state, message)

    def _step_changed(
        self,
        step: PlannedStep,
        state: StepState,
        message: str = "",
        cached: bool = False,
        reasons: tuple[str, ...] = (),
        attempt: int = 1,
    ) -> None:
        self.observer.step_changed(
            StepChanged(
                self.run_id,
                self.pipeline_uuid,
                step.uuid,
                step.title,
                state,
                now(),
                message,
                cached,
                reasons,
                attempt,
                step.attempts.tries,
            )
        )

    def _run_changed(self, state: RunState, message: str = "") -> None:
        self.observer.run_changed(
            RunChanged(self.run_id, self.pipeline_uuid, state, now(), message)
        )
