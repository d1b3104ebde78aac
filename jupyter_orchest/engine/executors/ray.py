"""Steps as Ray tasks on a Ray cluster.

Each step is one Ray task with the step's resources (`resources`: cpus, gpus, memory) and
retries (`retries`, with Ray's own `max_retries` and `retry_exceptions`). On the worker the
step runs as it does locally, with a `LocalExecutor` of the worker's own (a fresh kernel for a
notebook, its outputs written back into the notebook; an interpreter for a script); what it
prints is collected there and returned with the result, also when the step fails, so it
reaches the step's log. Ray schedules; this module only submits, waits and cancels.

The project folder and the data folder must be reachable at the same paths on every worker
(shared storage), and the workers' Python must have jupyter-orchest and ipykernel installed:
steps run in the workers' Python, not in their environments' images or virtual environments.
"""

import asyncio
import contextlib
import hashlib
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..model import StepReporter, StepResult, StepTask, Stream

log = logging.getLogger(__name__)

CANCEL_GRACE = 5.0
"""Seconds a cancelled step's task gets to stop its processes before its worker is killed."""
ENVIRONMENTS_NOTE = (
    "[runs on the Ray cluster, in the Python of its workers: the step's environment is not used]\n"
)


class RayUnavailable(RuntimeError):
    """Ray cannot be used (not installed, or the cluster cannot be reached); says why."""


@dataclass
class _Attempt:
    """What a step's run on a worker gives back."""

    succeeded: bool
    message: str
    output: list[tuple[Stream, str]]


class StepAttemptFailed(Exception):
    """Raised on the worker when the step fails, so that Ray retries it; carries what the
    attempt printed."""

    def __init__(self, attempt: _Attempt) -> None:
        super().__init__(attempt.message)
        self.attempt = attempt

    def __reduce__(self) -> Any:
        return (StepAttemptFailed, (self.attempt,))


class RayExecutor:
    """The StepExecutor protocol over Ray (see the module's docs)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._remote: Any = None
        self._identity: str | None = None

    async def start(self) -> None:
        if self._remote is None:
            self._remote = await asyncio.to_thread(_connect, self.address)

    def expect(self, tasks: list[StepTask]) -> None:
        pass  # Ray starts workers as tasks arrive

    async def environment_identity(self, task: StepTask) -> str:
        """The workers' Python and packages, asked of a worker once."""
        if self._identity is None:
            await self.start()
            import ray

            self._identity = await ray.remote(_worker_software).remote()
        return self._identity

    async def run_step(self, task: StepTask, reporter: StepReporter) -> StepResult:
        try:
            await self.start()
        except RayUnavailable as error:
            return StepResult(False, str(error))
        import ray
        from ray.exceptions import RayError, RayTaskError, TaskCancelledError

        if task.environment:
            reporter.log("stdout", ENVIRONMENTS_NOTE)
        problem = _unfeasible(task, ray.cluster_resources())  # type: ignore[no-untyped-call]
        if problem:
            return StepResult(False, problem)
        options: dict[str, Any] = {
            "num_cpus": task.resources.cpus,
            "num_gpus": task.resources.gpus,
            "max_retries": task.retries,
            "retry_exceptions": [StepAttemptFailed],
        }
        if task.resources.memory:
            options["memory"] = task.resources.memory
        reference = self._remote.options(**options).remote(task)
        try:
            attempt: _Attempt = await reference
        except asyncio.CancelledError:
            await asyncio.shield(_cancel(reference))
            raise
        except RayTaskError as error:
            cause = error.cause if isinstance(error.cause, StepAttemptFailed) else None
            if cause is None:
                return StepResult(False, f"The step failed on the Ray cluster: {error}")
            attempt = cause.attempt
        except TaskCancelledError:
            return StepResult(False, "The step's Ray task was cancelled.")
        except RayError as error:  # e.g. the worker died
            return StepResult(False, f"The step's Ray worker failed: {_first_line(error)}")
        for stream, text in attempt.output:
            reporter.log(stream, text)
        return StepResult(attempt.succeeded, attempt.message)

    async def shutdown(self) -> None:
        pass  # the cluster outlives the server; this process's connection ends with it


async def _cancel(reference: Any) -> None:
    """Interrupt the task (its local executor then stops the step's processes), and kill its
    worker if it is still there after CANCEL_GRACE seconds."""
    import ray

    ray.cancel(reference)
    done, _ = await asyncio.wait([asyncio.ensure_future(_settled(reference))], timeout=CANCEL_GRACE)
    if not done:
        ray.cancel(reference, force=True)


async def _settled(reference: Any) -> None:
    with contextlib.suppress(Exception):
        await reference


def _connect(address: str) -> Any:
    """Connect to the cluster (once per process) and define the step's remote function."""
    try:
        import ray
    except ImportError:
        raise RayUnavailable(
            "Ray is not installed in the server's Python: pip install 'jupyter-orchest[ray]'."
        ) from None
    if not ray.is_initialized():
        try:
            ray.init(address=None if address == "local" else address, log_to_driver=False)
        except Exception as error:  # ray raises ConnectionError, RuntimeError, ValueError...
            raise RayUnavailable(
                f"Cannot connect to the Ray cluster at {address!r}: {_first_line(error)}"
            ) from None
    return ray.remote(_run_on_worker)


def _unfeasible(task: StepTask, cluster: dict[str, float]) -> str:
    """Why the cluster can never run this step (Ray would wait for it forever), or ''."""
    wanted = {"CPU": task.resources.cpus, "GPU": task.resources.gpus}
    if task.resources.memory:
        wanted["memory"] = task.resources.memory
    for name, amount in wanted.items():
        if amount > cluster.get(name, 0):
            return (
                f"The step asks for {amount:g} {name} but the whole Ray cluster has "
                f"{cluster.get(name, 0):g}: lower the step's resources or add nodes."
            )
    return ""


def _run_on_worker(task: StepTask) -> _Attempt:
    """On a Ray worker: run the step with a local executor, collecting what it prints."""
    missing = [
        str(folder)
        for folder in (task.project_dir, task.data_dir)
        if folder is not None and not Path(folder).is_dir()
    ]
    if missing:
        return _Attempt(
            False,
            f"{', '.join(missing)} cannot be found on the Ray worker: the project and data "
            "folders must be reachable at the same paths from every worker (shared storage).",
            [],
        )
    attempt = asyncio.run(_run_locally(task))
    if not attempt.succeeded:
        raise StepAttemptFailed(attempt)
    return attempt


async def _run_locally(task: StepTask) -> _Attempt:
    from .local import LocalExecutor

    output: list[tuple[Stream, str]] = []

    class Collector:
        def log(self, stream: Stream, text: str) -> None:
            output.append((stream, text))

    async with LocalExecutor(pool_size=0, standby_kernels=0) as executor:
        result = await executor.run_step(task, Collector())
    return _Attempt(result.succeeded, result.message, output)


def _worker_software() -> str:
    from importlib import metadata

    names = sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions())
    return hashlib.sha256("\n".join([sys.version, *names]).encode()).hexdigest()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
