"""Kernels started ahead of need, so that a notebook step finds one ready.

The executor says how many kernels of each key it wants ready (from the steps it expects);
the pool starts them a few at a time, oldest request first, so that the first is ready as
early as possible, and stops the ones no longer wanted. Every kernel is still used for one
step only.
"""

import asyncio
import functools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping

from .kernels import Kernel, KernelKey

log = logging.getLogger(__name__)

FAILURE_PAUSE = 30.0
"""Seconds during which a key whose kernel failed to start is not started ahead again (the
step that needs it starts one itself, and reports why it fails)."""


class KernelPool:
    def __init__(
        self,
        launch: Callable[[KernelKey], Awaitable[Kernel]],
        retire: Callable[[Kernel], None],  # for kernels not handed out: they ran nothing
        concurrency: int,
    ) -> None:
        self._launch = launch
        self._retire = retire
        self._slots = asyncio.Semaphore(concurrency)
        self._entries: dict[KernelKey, deque[asyncio.Task[Kernel]]] = {}
        self._targets: Mapping[KernelKey, int] = {}
        self._failed_at: dict[KernelKey, float] = {}

    def want(self, targets: Mapping[KernelKey, int]) -> None:
        """Keep this many kernels of each key started or starting; others are stopped."""
        self._targets = dict(targets)
        self._rebalance()

    def count(self, key: KernelKey) -> int:
        """The kernels of this key started or starting."""
        return len(self._entries.get(key, ()))

    def ready(self) -> int:
        """The kernels started and alive, of every key."""
        return sum(
            1
            for entries in self._entries.values()
            for entry in entries
            if entry.done()
            and not entry.cancelled()
            and entry.exception() is None
            and not entry.result().exited.done()
        )

    async def take(self, key: KernelKey) -> Kernel | None:
        """A live kernel of this key started ahead of need (waiting for one that is still
        starting), or None if there is none."""
        entries = self._entries.get(key)
        while entries:
            entry = entries.popleft()
            try:
                kernel = await asyncio.shield(entry)
            except asyncio.CancelledError:
                if entry.cancelled():
                    continue
                entries.appendleft(entry)  # our caller was cancelled, not the kernel's start
                raise
            except Exception:
                continue  # logged by _started
            if kernel.exited.done():
                self._retire(kernel)
                continue
            return kernel
        return None

    async def close(self) -> None:
        """Stop every kernel of the pool, started or starting."""
        self._targets = {}
        entries = [entry for queue in self._entries.values() for entry in queue]
        self._rebalance()
        await asyncio.gather(*entries, return_exceptions=True)

    def _rebalance(self) -> None:
        for key, entries in self._entries.items():
            while len(entries) > self._targets.get(key, 0):
                self._discard(entries.pop())  # the newest: the least advanced
        now = time.monotonic()
        for key, target in self._targets.items():
            if now - self._failed_at.get(key, -FAILURE_PAUSE) < FAILURE_PAUSE:
                continue
            entries = self._entries.setdefault(key, deque())
            while len(entries) < target:
                entry = asyncio.create_task(self._start(key))
                entry.add_done_callback(functools.partial(self._started, key))
                entries.append(entry)

    async def _start(self, key: KernelKey) -> Kernel:
        async with self._slots:
            return await self._launch(key)

    def _started(self, key: KernelKey, entry: "asyncio.Task[Kernel]") -> None:
        if entry.cancelled():
            return
        error = entry.exception()
        if error is not None:
            log.warning("could not start a %s kernel ahead of need: %s", key.name, error)
            self._failed_at[key] = time.monotonic()
            queue = self._entries.get(key)
            if queue is not None and entry in queue:
                queue.remove(entry)

    def _discard(self, entry: "asyncio.Task[Kernel]") -> None:
        if not entry.done():
            entry.cancel()  # the launch kills what it started
        elif not entry.cancelled() and entry.exception() is None:
            self._retire(entry.result())
