"""The Ray executor's side on the cluster: the task that runs one step on a worker, the task
that identifies the workers' software, and the actor that carries what steps print back to
the server as they print it.

Nothing here imports Ray: the executor (`ray.py`) wraps these functions and this class with
`ray.remote`, and workers import this module by name (so they need jupyter-orchest installed).
"""

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from ..model import StepResult, StepTask, Stream

Chunk = tuple[Stream, str]
FLUSH_INTERVAL = 0.1
"""Seconds between two sends of what a step printed, from the worker to the relay."""


class StepAttemptFailed(Exception):
    """An attempt of a step failed on the worker; the message says why, for the user."""


class LogRelay:
    """An async Ray actor, one per executor: workers push what their steps print under a key
    of the step's run, and the server takes it as it arrives."""

    def __init__(self) -> None:
        self._chunks: dict[str, list[Chunk]] = {}
        self._arrived: dict[str, asyncio.Event] = {}
        self._closed: set[str] = set()

    async def open(self, key: str) -> None:
        self._chunks[key] = []
        self._arrived[key] = asyncio.Event()

    async def push(self, key: str, chunks: list[Chunk]) -> None:
        if key in self._chunks:  # not a late push of a step already forgotten
            self._chunks[key].extend(chunks)
            self._arrived[key].set()

    async def take(self, key: str) -> tuple[list[Chunk], bool]:
        """What arrived since the last take (waiting until something does), and whether the
        step is over, so that nothing more will."""
        arrived = self._arrived.get(key)
        if arrived is None:
            return [], True
        await arrived.wait()
        arrived.clear()
        chunks = self._chunks.get(key, [])
        if chunks:
            self._chunks[key] = []
        return chunks, key in self._closed

    async def close(self, key: str) -> None:
        """The step's task is over: a waiting take returns with what is left."""
        self._closed.add(key)
        if key in self._arrived:
            self._arrived[key].set()

    async def forget(self, key: str) -> None:
        arrived = self._arrived.pop(key, None)
        if arrived is not None:
            arrived.set()  # a take still waiting (its caller was cancelled) returns
        self._chunks.pop(key, None)
        self._closed.discard(key)


class _RelaySender:
    """A StepReporter on the worker that sends what the step prints to the relay in batches,
    every FLUSH_INTERVAL seconds and in order, so that a step printing line by line does not
    make one actor call per line."""

    def __init__(self, relay: Any, key: str) -> None:
        self._relay, self._key = relay, key
        self._pending: list[Chunk] = []
        self._sending = asyncio.ensure_future(self._send_regularly())

    def log(self, stream: Stream, text: str) -> None:
        self._pending.append((stream, text))

    async def close(self) -> None:
        self._sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._sending
        await self._flush()

    async def _send_regularly(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            await self._flush()

    async def _flush(self) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            await self._relay.push.remote(self._key, batch)


def run_step_on_worker(task: StepTask, relay: Any, key: str) -> str:
    """The Ray task of one attempt of a step: the step's message when it succeeds, or when it
    cannot run here at all; StepAttemptFailed when it fails."""
    result = asyncio.run(_run_attempt(task, relay, key))
    if not result.succeeded:
        raise StepAttemptFailed(result.message)
    return result.message


async def _run_attempt(task: StepTask, relay: Any, key: str) -> StepResult:
    sender = _RelaySender(relay, key)
    try:
        missing = [
            str(folder)
            for folder in (task.project_dir, task.data_dir)
            if folder is not None and not Path(folder).is_dir()
        ]
        if missing:
            return StepResult(
                False,
                f"{' and '.join(missing)} cannot be found on the Ray worker: the project and "
                "data folders must be reachable at the same paths from every worker "
                "(shared storage).",
            )
        from .local import LocalExecutor  # the worker runs the step as it runs locally

        # The executor lives for this one step: no kernel started ahead of need, no fork
        # server (for one kernel it saves nothing, as measured in bench/ray_overhead.py), no
        # launcher of scripts (likewise, see bench/namespace_overhead.py).
        local = LocalExecutor(
            pool_size=0, standby_kernels=0, fork_kernels=False, script_launcher=False
        )
        async with local as executor:
            return await executor.run_step(task, sender)
    finally:
        await sender.close()


def identify_on_worker(task: StepTask) -> str:
    """The Ray task that says which software the step gets on a worker, as a local executor
    there identifies it (its kernel or interpreter, and that Python's packages)."""
    from .local import LocalExecutor

    return asyncio.run(LocalExecutor(pool_size=0, standby_kernels=0).environment_identity(task))
