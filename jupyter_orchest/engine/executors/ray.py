"""Steps as Ray tasks on a Ray cluster.

Each step is one Ray task, submitted with the step's resources (`resources`: cpus, gpus,
memory). Ray retries nothing itself: a failed attempt, or one whose worker died, is tried
again by the engine as for every executor (see `engine.attempts`). On the worker
the step runs as it does locally, with a `LocalExecutor` of its own (see `ray_worker`): a
notebook in a fresh kernel, its outputs written back into the notebook; a script by its
interpreter. What the step prints goes, while it runs, through a small actor (`LogRelay`) to
the step's log on the server: a long step shows its progress, and what a step printed before
it failed, or before its worker died, is in the log. Ray schedules; this module only
submits, waits and cancels.

The project folder and the data folder must be reachable at the same paths on every worker
(shared storage), and the workers' Python must have jupyter-orchest and ipykernel installed:
steps run in the workers' Python, not in their environments' images or virtual environments.
Ray is imported only once a RayExecutor connects.
"""

import asyncio
import concurrent.futures
import contextlib
import logging
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..model import StepReporter, StepResult, StepTask
from .ray_worker import LogRelay, StepAttemptFailed, identify_on_worker, run_step_on_worker

log = logging.getLogger(__name__)

CANCEL_GRACE = 5.0
"""Seconds a cancelled step's task gets to stop its processes before its worker is killed."""
CONNECT_TIMEOUT = 60.0
"""Seconds Ray gets to connect to a cluster (it retries an unanswering address for minutes)."""
PROBE_TIMEOUT = 5.0
"""Seconds a cluster's address gets to accept a TCP connection before Ray is asked to use it."""
IDENTITY_LIFETIME = 60.0
"""Seconds the workers' software identity is reused before a worker is asked again."""
ENVIRONMENTS_NOTE = (
    "[runs on the Ray cluster, in the Python of its workers: the step's environment is not used]\n"
)


class RayUnavailable(RuntimeError):
    """Ray cannot be used (not installed, or the cluster cannot be reached); says why."""


@dataclass
class _Connection:
    """This process's connection to its Ray cluster (one per process, as Ray has it), with
    the remote functions and the log relay made once."""

    run_step: Any
    identify: Any
    relay: Any


class RayExecutor:
    """The StepExecutor protocol over Ray (see the module's docs). `address` as `ray.init`
    takes it (`auto`, `host:6379`, `ray://host:10001`), or `local` for `ray.init()` without
    one (a cluster started on this machine, or a new one for this process)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._connection: _Connection | None = None
        self._identities: dict[tuple[str, ...], tuple[float, str]] = {}

    async def start(self) -> None:
        """Connect ahead of the first step. When that fails, the server's log says why here,
        and so does every step that cannot run (each tries again)."""
        try:
            await self._connected()
        except RayUnavailable as error:
            log.warning("%s", error)

    async def _connected(self) -> _Connection:
        if self._connection is None:
            self._connection = await _connect(self.address)
        return self._connection

    def expect(self, tasks: list[StepTask]) -> None:
        pass  # Ray starts workers as tasks arrive

    async def environment_identity(self, task: StepTask) -> str:
        """The step's kernel or interpreter and its Python's packages, as a worker has them
        (asked of one worker, then reused for IDENTITY_LIFETIME seconds)."""
        kind = task.file.suffix.lower()
        key = (kind, task.kernel_name or (str(task.file) if kind == ".ipynb" else ""))
        known = self._identities.get(key)
        if known is not None and time.monotonic() - known[0] < IDENTITY_LIFETIME:
            return known[1]
        connection = await self._connected()  # RayUnavailable: the step runs uncached, fails
        identity: str = await connection.identify.remote(task)
        self._identities[key] = (time.monotonic(), identity)
        return identity

    async def orchest_paths_unavailable(self, task: StepTask) -> str:
        return ""  # a worker's own executor knows, and refuses the step if need be

    async def run_step(self, task: StepTask, reporter: StepReporter) -> StepResult:
        try:
            connection = await self._connected()
        except RayUnavailable as error:
            return StepResult(False, str(error))
        import ray

        if task.environment:
            reporter.log("stdout", ENVIRONMENTS_NOTE)
        problem = _unfeasible(task, ray.cluster_resources())  # type: ignore[no-untyped-call]
        if problem:
            return StepResult(False, problem)
        relay, key = connection.relay, f"{task.run_id}/{task.step_uuid}/{uuid.uuid4().hex}"
        await relay.open.remote(key)
        reference = connection.run_step.options(**_task_options(task)).remote(task, relay, key)
        relaying = asyncio.ensure_future(_relay_log(relay, key, reporter))
        try:
            result = await _outcome(reference)
        except asyncio.CancelledError:
            relaying.cancel()
            await asyncio.shield(_cancel(reference))
            raise
        else:
            relay.close.remote(key)  # the relay's last take returns what is left
            await relaying
        finally:
            relay.forget.remote(key)
        return result

    async def shutdown(self) -> None:
        pass  # the cluster outlives the server; this process's connection ends with it


def _task_options(task: StepTask) -> dict[str, Any]:
    options: dict[str, Any] = {
        "num_cpus": task.resources.cpus,
        "num_gpus": task.resources.gpus,
        "max_retries": 0,  # the engine retries, as the step says (Ray's default is 3)
    }
    if task.resources.memory:
        options["memory"] = task.resources.memory
    return options


async def _outcome(reference: Any) -> StepResult:
    from ray.exceptions import RayError, RayTaskError, TaskCancelledError

    try:
        message: str = await reference
    except RayTaskError as error:
        if isinstance(error.cause, StepAttemptFailed):
            return StepResult(False, str(error.cause))
        return StepResult(False, f"The step failed on the Ray cluster: {_first_line(error)}")
    except TaskCancelledError:
        return StepResult(False, "The step's Ray task was cancelled on the cluster.")
    except RayError as error:  # e.g. its worker died, or the cluster is gone
        return StepResult(False, f"The step's Ray worker failed: {_first_line(error)}")
    return StepResult(True, message)


async def _relay_log(relay: Any, key: str, reporter: StepReporter) -> None:
    from ray.exceptions import RayError

    over = False
    while not over:
        try:
            chunks, over = await relay.take.remote(key)
        except RayError as error:  # the relay's node is gone: the step's own result still counts
            reporter.log("stderr", f"[the rest of the step's output was lost: {error}]\n")
            return
        for stream, text in chunks:
            reporter.log(stream, text)


async def _cancel(reference: Any) -> None:
    """Interrupt the task (its local executor then stops the step's processes), and kill its
    worker if the task is still there after CANCEL_GRACE seconds."""
    import ray

    ray.cancel(reference)
    done, _ = await asyncio.wait([asyncio.ensure_future(_settled(reference))], timeout=CANCEL_GRACE)
    if not done:
        ray.cancel(reference, force=True)
        await _settled(reference)


async def _settled(reference: Any) -> None:
    with contextlib.suppress(Exception):
        await reference


def _unfeasible(task: StepTask, cluster: dict[str, float]) -> str:
    """Why the cluster can never run this step (Ray would wait for it forever), or ''."""
    wanted = {"CPU": task.resources.cpus, "GPU": task.resources.gpus}
    if task.resources.memory:
        wanted["memory"] = task.resources.memory
    for name, amount in wanted.items():
        has = cluster.get(name, 0)
        if amount > has:
            unit = " bytes of" if name == "memory" else ""
            return (
                f"The step asks for {amount:g}{unit} {name} but the whole Ray cluster has "
                f"{has:g}: lower the step's `resources` or add nodes to the cluster."
            )
    return ""


_connecting: concurrent.futures.Future[_Connection] | None = None
_connecting_lock = threading.Lock()


async def _connect(address: str) -> _Connection:
    """This process's connection, made once (retried after a failure); RayUnavailable when it
    cannot be made in CONNECT_TIMEOUT seconds."""
    global _connecting
    with _connecting_lock:
        if _connecting is None or _failed_or_gone(_connecting):
            _connecting = concurrent.futures.Future()
            # A thread of its own, not one of asyncio's: ray.init may hang past the timeout,
            # and the thread must outlive it (see _connect_in_thread).
            threading.Thread(
                target=_connect_in_thread, args=(address, _connecting), daemon=True
            ).start()
        connecting = _connecting
    try:
        return await asyncio.wait_for(
            asyncio.shield(asyncio.wrap_future(connecting)), CONNECT_TIMEOUT
        )
    except asyncio.TimeoutError:  # not yet the built-in TimeoutError in Python 3.10
        raise RayUnavailable(
            f"The Ray cluster at {address!r} did not answer in {CONNECT_TIMEOUT:.0f} s."
        ) from None


def _failed_or_gone(connecting: concurrent.futures.Future[_Connection]) -> bool:
    """Whether a connection made before must be made again: it failed, or Ray was shut down
    since (by whoever had initialized it)."""
    if not connecting.done():
        return False
    if connecting.exception() is not None:
        return True
    import ray

    return not ray.is_initialized()


def _connect_in_thread(address: str, connecting: concurrent.futures.Future[_Connection]) -> None:
    try:
        connecting.set_result(_make_connection(address))
    except Exception as error:
        connecting.set_exception(error)
        return
    # The processes of a local instance started here get SIGKILL when the thread that started
    # them ends (Ray gives them Linux's parent-death signal, which follows the thread).
    threading.Event().wait()


def _make_connection(address: str) -> _Connection:
    try:
        import ray
    except ImportError:
        raise RayUnavailable(
            "Ray is not installed in the server's Python: pip install 'jupyter-orchest[ray]'."
        ) from None
    if not ray.is_initialized():
        _probe(address)
        try:
            ray.init(address=None if address == "local" else address, log_to_driver=False)
        except Exception as error:  # ray raises ConnectionError, RuntimeError, ValueError...
            raise RayUnavailable(
                f"Cannot connect to the Ray cluster at {address!r}: {_first_line(error)}"
            ) from None
    relay = ray.remote(num_cpus=0)(LogRelay).remote()
    return _Connection(ray.remote(run_step_on_worker), ray.remote(identify_on_worker), relay)


def _probe(address: str) -> None:
    """Fail fast on a `host:port` or `ray://host:port` that accepts no connection."""
    if address in ("local", "auto"):
        return
    parts = urlsplit(address if "://" in address else f"//{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise RayUnavailable(f"{address!r} is not a Ray address (host:port).") from None
    if not host or port is None:
        return  # Ray reads it its own way
    try:
        socket.create_connection((host, port), timeout=PROBE_TIMEOUT).close()
    except OSError as error:
        raise RayUnavailable(
            f"Cannot connect to the Ray cluster at {address!r}: "
            f"{error.strerror or error}. Is the cluster running, and is the address right?"
        ) from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
