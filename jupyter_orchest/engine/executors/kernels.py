"""Jupyter kernels for notebook steps: which kernel a notebook gets, starting one, knowing when
it has died, and handing a pre-started kernel to a step.

A kernel started ahead of need (see `pool`) does not know yet which step it will run. When it
is handed to one, it gets the step's working directory and variables from a file that only
this process writes, named by an environment variable the kernel was started with, and read by
a constant snippet (`ASSIGN`): no user value is ever put into code.
"""

import asyncio
import contextlib
import json
import os
import signal
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any, TypeVar

import zmq
import zmq.asyncio
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.kernelspec import NATIVE_KERNEL_NAME, KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager

from .orchest_mounts import OrchestMounts

T = TypeVar("T")

ASSIGNMENT_VARIABLE = "JUPYTER_ORCHEST_ASSIGNMENT"
"""Names, in a pre-started kernel's environment, the file with its step's cwd and variables."""

ASSIGN = f"""\
def __jupyter_orchest_assign():
    import json, os, site
    with open(os.environ.pop("{ASSIGNMENT_VARIABLE}"), encoding="utf-8") as file:
        assignment = json.load(file)
    folders = site.getsitepackages()
    if site.ENABLE_USER_SITE:
        folders.append(site.getusersitepackages())
    for folder in folders:
        if os.path.isdir(folder) and os.stat(folder).st_mtime >= assignment["started"]:
            raise RuntimeError("packages changed since this kernel started: " + folder)
    os.chdir(assignment["cwd"])
    os.environ.update(assignment["env"])
    history = get_ipython().history_manager.dir_hist
    history[:] = [type(first)(os.getcwd()) for first in history[:1]]
try:
    __jupyter_orchest_assign()
finally:
    del __jupyter_orchest_assign
"""
"""Run silently in a pre-started IPython kernel to make it look exactly like one started for
its step: same working directory, environment, `sys.path` and `_dh`. It refuses (raises) when
packages were installed or removed after the kernel started, since such a kernel may have
missed a new `.pth` file; the kernel is then replaced by a fresh one."""

STALE_SLACK = 0.1
"""Seconds before a kernel's start from which a change to its site-packages counts as
possibly unseen by it (file times come from a coarse clock)."""

STARTUP_VARIABLES = frozenset({"HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP"})
STARTUP_PREFIXES = (
    *("PYTHON", "IPYTHON", "JUPYTER", "JPY_", "PYDEVD"),
    *("LD_", "DYLD_", "LC_", "XDG_"),
)
"""Variables a kernel reads while it starts (Python's own flags and paths, IPython's,
Jupyter's and its debugger's settings, the dynamic loader, the locale). Setting them after
the start would not have the same effect, so a kernel for a step that sets them must be
started with them."""

POLL_INTERVAL = 0.05
"""Seconds between checks whether a kernel process is still alive."""
EXITING_KERNEL_NICENESS = 19
"""A kernel that shuts down yields the CPU to everything else (see `Kernel.yield_cpu`)."""

LANGUAGES_BY_NAME_PREFIX = (("python", "python"), ("ir", "r"), ("julia", "julia"))
"""Orchest-style kernel names (`python`, `ir`, `julia-1.9`) and their languages."""


@dataclass(frozen=True)
class KernelKey:
    """What a kernel must have been started with: its kernelspec, the step's variables that
    take effect only at start-up, and what its mount namespace shows at /data and
    /project-dir (None: no namespace). Kernels with the same key are interchangeable."""

    name: str
    startup_env: tuple[tuple[str, str], ...] = ()
    namespace: OrchestMounts | None = None


def is_startup_variable(name: str) -> bool:
    return name in STARTUP_VARIABLES or name.startswith(STARTUP_PREFIXES)


def kernel_key(
    name: str, spec: KernelSpec, env: Mapping[str, str], base: Mapping[str, str] = os.environ
) -> KernelKey:
    """The key of a kernel for a step with variables `env`, for kernels that start with the
    environment `base`. Variables the kernelspec sets are part of it too: a kernelspec's own
    values win over the step's at start-up only."""
    startup = {
        variable: value
        for variable, value in env.items()
        if (is_startup_variable(variable) or variable in spec.env) and base.get(variable) != value
    }
    return KernelKey(name, tuple(sorted(startup.items())))


def can_assign(spec: KernelSpec) -> bool:
    """Whether `ASSIGN` works in kernels of this spec: IPython kernels (ipykernel) only."""
    return spec.language.lower() == "python" and any("ipykernel" in arg for arg in spec.argv)


class KernelChoiceError(Exception):
    """No installed kernel suits the notebook."""


def choose_kernel(
    asked: str | None, notebook_metadata: Mapping[str, Any], specs: Mapping[str, KernelSpec]
) -> str:
    """The installed kernel to run a notebook with: the one asked for, else the notebook's own,
    else the default kernel for the notebook's language (Orchest's `orchest-kernel-<uuid>`
    kernels become the local `python3`)."""
    kernelspec = notebook_metadata.get("kernelspec")
    kernelspec = kernelspec if isinstance(kernelspec, Mapping) else {}
    own = kernelspec.get("name") if isinstance(kernelspec.get("name"), str) else None
    for name in (asked, own):
        if name and name in specs:
            return name
    language = _notebook_language(asked, own, kernelspec, notebook_metadata)
    if language:
        candidates = sorted(
            name for name, spec in specs.items() if spec.language.lower() == language
        )
        if language == "python" and NATIVE_KERNEL_NAME in candidates:
            return NATIVE_KERNEL_NAME
        if candidates:
            return candidates[0]
    wanted = " or ".join(repr(name) for name in dict.fromkeys((asked, own)) if name)
    wanted = wanted or "none (the notebook names no kernel)"
    installed = ", ".join(sorted(specs)) or "none"
    in_language = f" (language {language})" if language else ""
    raise KernelChoiceError(
        f"no installed kernel can run this notebook: it asks for {wanted}{in_language}; "
        f"installed kernels: {installed}"
    )


def _notebook_language(
    asked: str | None,
    own: str | None,
    kernelspec: Mapping[str, Any],
    metadata: Mapping[str, Any],
) -> str | None:
    language_info = metadata.get("language_info")
    declared = [
        kernelspec.get("language"),
        language_info.get("name") if isinstance(language_info, Mapping) else None,
    ]
    for language in declared:
        if isinstance(language, str) and language:
            return language.lower()
    for name in (asked, own):
        for prefix, language in LANGUAGES_BY_NAME_PREFIX:
            if name and name.lower().startswith(prefix):
                return language
    return None


class KernelDied(Exception):
    """The kernel's process ended while we were waiting for it."""

    def __init__(self, how: str) -> None:
        super().__init__(how)
        self.how = how


class Kernel(ABC):
    """A running kernel process that this executor started, and a client connected to it."""

    def __init__(self, key: KernelKey, client: AsyncKernelClient, pid: int) -> None:
        self.key = key
        self.client = client
        self.pid = pid
        self.started = time.time()
        self.assignment: Path | None = None
        """For a kernel started ahead of need: the file `ASSIGN` reads."""

    @property
    @abstractmethod
    def exited(self) -> "asyncio.Future[str]":
        """Resolves, with how the process ended in words, once it has ended."""

    @abstractmethod
    async def interrupt(self) -> None: ...

    @abstractmethod
    async def kill(self) -> None:
        """Kill the kernel and its process group now; return once the kernel is gone."""

    def yield_cpu(self) -> None:
        """Lower the priority of the kernel's process group, before it shuts down: the
        teardown of a Python full of modules costs tens of milliseconds of CPU, which must
        not be taken from the steps that run meanwhile. Best effort (a kernel in another
        group or owned by another user is left as it is)."""
        with contextlib.suppress(OSError):
            if self.pid > 0 and os.getpgid(self.pid) == self.pid:
                os.setpriority(os.PRIO_PGRP, self.pid, EXITING_KERNEL_NICENESS)

    @abstractmethod
    async def shutdown(self) -> None:
        """Ask the kernel to shut down, kill it if it does not in time; return once it is
        gone and its files are removed."""

    async def unless_dead(self, awaitable: Awaitable[T]) -> T:
        """The awaitable's result, or KernelDied if the kernel's process ends first."""
        work = asyncio.ensure_future(awaitable)
        either: list[asyncio.Future[Any]] = [work, self.exited]
        try:
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not work.done():
                work.cancel()
        if work.cancelled() or not work.done():
            raise KernelDied(self.exited.result())
        return work.result()

    async def wait_until_ready(self, timeout: float) -> None:
        """Return once the kernel answers on its shell channel and its IOPub channel is
        connected (so no output is lost); KernelDied or TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        requests = set()
        while time.monotonic() < deadline:
            requests.add(self.client.kernel_info())
            try:
                reply = await self.unless_dead(self.client.get_shell_msg(timeout=1))
            except Empty:
                continue
            if reply["parent_header"].get("msg_id") not in requests:
                continue
            # Any IOPub message (the welcome, or the status of our request) means connected.
            try:
                await self.unless_dead(self.client.get_iopub_msg(timeout=0.2))
            except Empty:
                continue
            return
        raise TimeoutError(f"the kernel did not answer within {timeout:g} seconds")

    async def assign(self, cwd: Path, env: Mapping[str, str], timeout: float) -> None:
        """Make a kernel started ahead of need look as if started for this step. Raises
        (RuntimeError, KernelDied, TimeoutError) if it cannot; the kernel is then unusable."""
        assert self.assignment is not None, "only pre-started kernels are assigned"
        contents = {"cwd": str(cwd), "env": dict(env), "started": self.started - STALE_SLACK}
        self.assignment.write_text(json.dumps(contents), encoding="utf-8")
        request = self.client.execute(ASSIGN, silent=True, store_history=False)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the kernel did not take its step in time")
            try:
                reply = await self.unless_dead(self.client.get_shell_msg(timeout=remaining))
            except Empty:
                continue
            if reply["parent_header"].get("msg_id") == request:
                break
        self.assignment.unlink(missing_ok=True)
        content = reply["content"]
        if content.get("status") != "ok":
            raise RuntimeError(f"{content.get('ename')}: {content.get('evalue')}")


class ManagedKernel(Kernel):
    """A kernel started by jupyter_client's kernel manager: any kernelspec. The manager sets
    JPY_PARENT_PID, so the kernel exits by itself if this process dies."""

    def __init__(self, key: KernelKey, manager: AsyncKernelManager) -> None:
        provisioner = manager.provisioner
        assert provisioner is not None, "the kernel was started"
        super().__init__(key, manager.client(), getattr(provisioner, "pid", 0))
        self._manager = manager
        self._exited: asyncio.Future[str] | None = None
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def exited(self) -> "asyncio.Future[str]":
        if self._exited is None:
            self._exited = asyncio.get_running_loop().create_future()
            self._watch = asyncio.create_task(self._watch_process(self._exited))
        return self._exited

    async def _watch_process(self, exited: "asyncio.Future[str]") -> None:
        provisioner = self._manager.provisioner
        process = getattr(provisioner, "process", None)  # kept: the manager forgets it
        while True:
            code = process.poll() if process is not None else None
            if process is None and provisioner is not None:
                code = await provisioner.poll()
            if code is not None:
                exited.set_result(describe_exit(code))
                return
            await asyncio.sleep(POLL_INTERVAL)

    async def interrupt(self) -> None:
        await self._manager.interrupt_kernel()

    async def kill(self) -> None:
        await self._stop(now=True)

    async def shutdown(self) -> None:
        await self._stop(now=self.exited.done())

    async def _stop(self, now: bool) -> None:
        if not self._stopping:  # the first stop does it; the others wait for it
            self._stopping = True
            self.client.stop_channels()
            await self._manager.shutdown_kernel(now=now)
        await self.exited


class _KernelManager(AsyncKernelManager):
    """jupyter_client's, but a kernel with a mount namespace is started by a command that
    enters the namespace, then becomes the kernel (see `mount_namespace.command`)."""

    namespace: OrchestMounts | None = None

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        kernel: list[str] = super().format_kernel_cmd(extra_arguments)
        return [*self.namespace.command(), *kernel] if self.namespace else kernel


def describe_exit(code: int) -> str:
    """A kernel's exit status (negative: the signal that killed it) in words."""
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def client_context() -> zmq.asyncio.Context:
    """A ZeroMQ context for clients of kernels that are starting. A client connects before its
    kernel listens; ZeroMQ then retries every RECONNECT_IVL, 100 ms by default: a tenth of a
    second lost on every kernel start."""
    context = zmq.asyncio.Context()
    context.setsockopt(zmq.RECONNECT_IVL, 5)
    return context


async def start_managed_kernel(
    key: KernelKey,
    spec_manager: KernelSpecManager,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    shutdown_wait: float,
    context: zmq.asyncio.Context,
    sockets: Path,
) -> ManagedKernel:
    """Start a kernel through jupyter_client and wait until it is ready. Whatever happens,
    including cancellation, no kernel is left behind when this raises.

    `sockets` names the kernel's connection file (`<sockets>.json`) and its Unix sockets
    (`<sockets>-1` ...), in a folder only this user can enter: local kernels need no TCP
    port (which any local user could reach, and ipykernel warns about)."""
    manager = _KernelManager(
        kernel_name=key.name,
        kernel_spec_manager=spec_manager,
        context=context,
        transport="ipc",
        ip=str(sockets),
        connection_file=f"{sockets}.json",
    )
    manager.shutdown_wait_time = shutdown_wait
    manager.namespace = key.namespace
    try:
        await manager.start_kernel(cwd=str(cwd), env=dict(env))
    except BaseException:
        if manager.has_kernel:  # started, then cancelled
            await asyncio.shield(manager.shutdown_kernel(now=True))
        else:
            await asyncio.shield(manager.cleanup_resources())
        raise
    kernel = ManagedKernel(key, manager)
    try:
        kernel.client.start_channels(stdin=False, hb=False)  # no input(); deaths are seen by pid
        await kernel.wait_until_ready(timeout)
    except BaseException:
        await asyncio.shield(kernel.kill())
        raise
    return kernel
