"""The local executor: runs a step on this machine, a notebook in a fresh Jupyter kernel and a
script with its interpreter.

Kernel start-up is most of a short notebook step's time, so:

- IPython kernels are forked from a process that has imported ipykernel already (see
  `forkserver`): a few hundredths of a second of CPU instead of a few tenths;
- kernels are started before they are needed, for the steps `expect` announces plus
  `standby_kernels` of the default Python kernel (see `pool`), and handed their step's folder
  and variables when it starts (see `kernels.ASSIGN`);
- kernels are shut down in the background after their step.

No step waits for any of that, and every step still gets a kernel of its own that ran
nothing before: a forked or pre-started kernel looks to the step exactly like one that
jupyter_client would have started for it.

Steps see their run's data folder at `/data` and their project at `/project-dir`, as in
Orchest, through a mount namespace per process (see `mount_namespace`): kernels started ahead
are started in the namespace of the steps expected, the standby kernel in that of the last
notebook step. Where namespaces cannot be made, a step that mentions those paths is refused.

Executors whose kernels run elsewhere (in a container: see `environments.docker`) reuse all
of this by overriding `_kernel_key`, `_kernel_place`, `_kernel_environ` and `_start_kernel`.
"""

import asyncio
import contextlib
import logging
import math
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType

import zmq.asyncio
from jupyter_client.kernelspec import NATIVE_KERNEL_NAME, KernelSpec, KernelSpecManager

from ..hashing import stable_key
from ..model import StepReporter, StepResult, StepTask
from ..orchest_paths import refusal
from . import ipynb, mount_namespace
from .forkserver import ForkServer, ForkUnavailable, fork_python
from .identity import EnvironmentIdentities
from .ipynb import NotebookError
from .kernels import (
    ASSIGNMENT_VARIABLE,
    Kernel,
    KernelChoiceError,
    KernelKey,
    can_assign,
    choose_kernel,
    client_context,
    kernel_key,
    start_managed_kernel,
)
from .launcher import Launcher
from .notebooks import NotebookFile, run_notebook
from .orchest_mounts import OrchestMounts, namespaces_unavailable
from .pool import KernelPool
from .scripts import INTERPRETERS, Interpreter, run_script

log = logging.getLogger(__name__)

NOTEBOOK_SUFFIX = ".ipynb"
ASSIGN_TIMEOUT = 10.0
"""Seconds a kernel started ahead gets to take its step (it is ready: it takes milliseconds);
one that does not is replaced rather than holding its step up for a whole start timeout."""
STANDBY_DELAY = 1.0
"""Seconds without notebook steps before standby kernels are started: they serve the next
run, and a kernel's start costs CPU that must not be taken from a run going on or from one
started right after (kernels for the steps of a run are started at once, as it needs them)."""
KERNELSPECS_FRESH_FOR = 2.0
"""Seconds a reading of the installed kernelspecs is used for."""
RUNTIME_PREFIX = "jupyter-orchest-"
MAX_RUNTIME_PATH = 60
"""Longest path of the runtime folder: a kernel's Unix socket paths (the folder's, plus about
20 characters) must stay under 104 characters on macOS, 108 on Linux."""


class LocalExecutor:
    """Runs steps on this machine. See the module's docs; the arguments:

    grace_period: seconds a cancelled step gets to stop after an interrupt before it is killed.
    pool_size: at most this many kernels are started ahead of need (0: none).
    standby_kernels: kernels of the default Python kernel kept ready even when no step is
        expected, so that a step nobody announced starts at once.
    start_concurrency: kernels started ahead of need at the same time (default: CPU count).
    expectation_lifetime: seconds after which an expected step that did not start is no
        longer expected (its run failed or was cancelled), and its kernel is stopped.
    kernel_startup_timeout: seconds a kernel gets to become ready.
    kernel_shutdown_wait: seconds a kernel gets to exit after a shutdown request.
    interpreters: how scripts are run, by lower-case file extension.
    kernel_spec_manager: where kernelspecs are found (default: Jupyter's usual places).
    fork_kernels: fork ipykernel kernels from a process that has imported ipykernel already
        (see `forkserver`) rather than start each from scratch. On Linux only by default:
        macOS forbids fork after some system libraries are loaded.
    mount_orchest_paths: show steps their data folder at /data and their project at
        /project-dir (see the module's docs); off for executors whose steps see them
        otherwise (in containers).
    script_launcher: start scripts in their namespaces from a launcher process that the
        executor keeps (see `launcher`), which costs least per script; off, each script's
        command enters its namespace itself (a Python start more, but nothing to start
        first: for an executor that runs one step).
    """

    def __init__(
        self,
        *,
        grace_period: float = 3.0,
        pool_size: int = 8,
        standby_kernels: int = 1,
        start_concurrency: int | None = None,
        expectation_lifetime: float = 300.0,
        kernel_startup_timeout: float = 60.0,
        kernel_shutdown_wait: float = 3.0,
        interpreters: Mapping[str, Interpreter] = INTERPRETERS,
        kernel_spec_manager: KernelSpecManager | None = None,
        fork_kernels: bool = sys.platform == "linux",
        mount_orchest_paths: bool = True,
        script_launcher: bool = True,
    ) -> None:
        self.grace_period = grace_period
        self.pool_size = pool_size
        self.standby_kernels = standby_kernels
        self.start_concurrency = start_concurrency or os.cpu_count() or 2
        self.expectation_lifetime = expectation_lifetime
        self.kernel_startup_timeout = kernel_startup_timeout
        self.kernel_shutdown_wait = kernel_shutdown_wait
        self.interpreters = interpreters
        self.kernel_spec_manager = kernel_spec_manager or KernelSpecManager()
        self.fork_kernels = fork_kernels
        self.mount_orchest_paths = mount_orchest_paths
        self.script_launcher = script_launcher
        self._identities = EnvironmentIdentities()
        self._pool: KernelPool | None = None
        self._standby_key: KernelKey | None = None
        """The default Python kernel, if it is installed and can be started ahead, in the
        mount namespace of the last notebook step."""
        self._runtime_dir: Path | None = None
        self._expected: dict[tuple[str, str], _Expectation] = {}
        """Notebook steps announced and without a kernel yet."""
        self._planning: set[asyncio.Task[None]] = set()
        self._retiring: set[asyncio.Task[None]] = set()
        self._active_kernels: set[Kernel] = set()
        self._active_scripts: set[int] = set()
        self._fork_servers: dict[str, ForkServer] = {}
        self._retired_fork_servers: list[ForkServer] = []
        self._fork_server_lock = asyncio.Lock()
        self._launcher: Launcher | None = None
        """Starts scripts in their mount namespaces; started with the first such script."""
        self._launcher_lock = asyncio.Lock()
        self._context: zmq.asyncio.Context | None = None
        self._specs_read: tuple[float, dict[str, KernelSpec]] = (-math.inf, {})
        """When the kernelspecs were last read (time.monotonic), and what was found."""
        self._last_step_seen = -math.inf
        """When a notebook step last started or ended (time.monotonic); see `_idle`."""
        self._standby_timer: asyncio.TimerHandle | None = None
        self._fork_failures: set[str] = set()
        """Pythons whose fork server could not start: their kernels are started normally."""

    async def __aenter__(self) -> "LocalExecutor":
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.shutdown()

    async def start(self) -> None:
        if self.mount_orchest_paths:
            await namespaces_unavailable()  # asked once, now rather than on a step's way
        if self._pool is None:
            self._pool = KernelPool(self._launch_ahead, self._kill, self.start_concurrency)
            specs = await asyncio.to_thread(self._kernel_specs)
            default = specs.get(NATIVE_KERNEL_NAME)
            if default is not None and can_assign(default):
                self._standby_key = KernelKey(NATIVE_KERNEL_NAME)
        self._rebalance_pool()

    def expect(self, tasks: list[StepTask]) -> None:
        notebooks = [task for task in tasks if task.file.suffix.lower() == NOTEBOOK_SUFFIX]
        fresh = [task for task in notebooks if _task_id(task) not in self._expected]
        if not fresh or self.pool_size <= 0:
            return
        loop = asyncio.get_running_loop()
        until = time.monotonic() + self.expectation_lifetime
        for task in fresh:
            self._expected[_task_id(task)] = _Expectation(until)
        loop.call_later(self.expectation_lifetime, self._rebalance_pool)
        planning = loop.create_task(self._plan(fresh))
        self._planning.add(planning)
        planning.add_done_callback(self._planning.discard)

    async def run_step(self, task: StepTask, reporter: StepReporter) -> StepResult:
        unavailable = await self.orchest_paths_unavailable(task)
        if unavailable:
            refused = await asyncio.to_thread(refusal, task, unavailable)
            if refused is not None:
                if self._expected.pop(_task_id(task), None) is not None:
                    self._rebalance_pool()
                return StepResult(False, refused)
        suffix = task.file.suffix.lower()
        if suffix == NOTEBOOK_SUFFIX:
            return await self._run_notebook(task, reporter)
        interpreter = self.interpreters.get(suffix)
        if interpreter is None:
            known = ", ".join(sorted({NOTEBOOK_SUFFIX, *self.interpreters}))
            return StepResult(
                False,
                f"cannot run {task.file.name}: no way to run {suffix or 'such'} files "
                f"is known (known: {known})",
            )
        namespace = self._namespace(task)
        try:
            launcher = await self._script_launcher() if namespace and self.script_launcher else None
        except (OSError, asyncio.TimeoutError) as error:
            return StepResult(False, f"cannot start {task.file.name}: {error}")
        return await run_script(
            task,
            reporter,
            interpreter,
            self.grace_period,
            self._active_scripts,
            namespace,
            launcher,
        )

    async def orchest_paths_unavailable(self, task: StepTask) -> str:
        """Why the step would not see /data and /project-dir, or "" when it would."""
        if not self.mount_orchest_paths:
            return ""
        return await namespaces_unavailable()

    async def environment_identity(self, task: StepTask) -> str:
        """The notebook's kernel, or the script's interpreter, and the packages of its Python
        (see `identity`)."""
        env = {**os.environ, **task.env}
        suffix = task.file.suffix.lower()
        if suffix == NOTEBOOK_SUFFIX:
            asked = self._known_kernel(task.kernel_name)
            if asked is not None:  # the step's choice wins: no need to read the notebook
                name, spec = asked
            else:
                name, spec = await asyncio.to_thread(self._notebook_kernel, task)
            software = await self._identities.command(spec.argv, env)
            return stable_key(
                {"kernel": name, "language": spec.language, "env": spec.env, "software": software}
            )
        interpreter = self.interpreters.get(suffix)
        if interpreter is None:
            return ""  # the step cannot run, and will say why
        return await self._identities.command(interpreter.command, env)

    def warm_kernels(self) -> int:
        """Kernels started ahead of need, ready for a step."""
        return self._pool.ready() if self._pool is not None else 0

    def _known_kernel(self, name: str | None) -> tuple[str, KernelSpec] | None:
        """The kernelspec of that name, if a fresh reading of the kernelspecs has it."""
        read_at, specs = self._specs_read
        if name in specs and time.monotonic() - read_at <= KERNELSPECS_FRESH_FOR:
            return name, specs[name]
        return None

    def _notebook_kernel(self, task: StepTask) -> tuple[str, KernelSpec]:
        specs = self._kernel_specs()
        name = choose_kernel(task.kernel_name, _notebook_metadata(task.file), specs)
        return name, specs[name]

    async def shutdown(self) -> None:
        for planning in self._planning:
            planning.cancel()
        self._expected.clear()
        if self._standby_timer is not None:
            self._standby_timer.cancel()
        if self._pool is not None:
            pool, self._pool = self._pool, None  # no kernel is started ahead from now on
            await pool.close()
        for kernel in list(self._active_kernels):
            self._retire(kernel, kill=True)
        for group in self._active_scripts:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        while self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)
        servers = [*self._fork_servers.values(), *self._retired_fork_servers]
        await asyncio.gather(*(server.close() for server in servers), return_exceptions=True)
        if self._launcher is not None:
            await self._launcher.close()
            self._launcher = None
        self._fork_servers.clear()
        self._retired_fork_servers.clear()
        if self._context is not None:
            self._context.destroy(linger=0)
            self._context = None
        if self._runtime_dir is not None:
            shutil.rmtree(self._runtime_dir, ignore_errors=True)
        self._runtime_dir = None

    def _runtime(self) -> Path:
        """A folder of this executor's own, only this user can enter: kernels' connection
        files and sockets, pre-started kernels' working directory and assignments."""
        if self._runtime_dir is None:
            prefix = f"{RUNTIME_PREFIX}{os.getpid()}-"
            folder = tempfile.mkdtemp(prefix=prefix)
            if len(folder) > MAX_RUNTIME_PATH:  # a long TMPDIR (macOS)
                os.rmdir(folder)
                folder = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
            self._runtime_dir = Path(folder)
            (self._runtime_dir / "idle").mkdir()
            _remove_orphaned_runtime_dirs(self._runtime_dir.parent)
        return self._runtime_dir

    # Notebooks

    async def _run_notebook(self, task: StepTask, reporter: StepReporter) -> StepResult:
        task_id = _task_id(task)
        self._last_step_seen = time.monotonic()
        try:
            document = await asyncio.to_thread(NotebookFile.load, task.file)
            specs = await asyncio.to_thread(self._kernel_specs)
            name = choose_kernel(task.kernel_name, document.notebook["metadata"], specs)
        except (NotebookError, KernelChoiceError) as error:
            self._expected.pop(task_id, None)
            self._rebalance_pool()
            return StepResult(False, str(error))
        key = self._kernel_key(name, specs[name], task)
        if self._standby_key is not None:  # the next run is likely to be of this project
            self._standby_key = replace(self._standby_key, namespace=key.namespace)
        if task_id in self._expected and can_assign(specs[name]):
            # Still expected until it has its kernel: the pool keeps one for it meanwhile.
            self._expected[task_id].key = key
        try:
            kernel = await self._kernel_for(task, key, specs[name])
        except Exception as error:  # whatever stops a kernel from starting fails the step only
            log.info("a kernel could not start", exc_info=True)
            return StepResult(False, f"the kernel {name!r} could not start: {error}")
        finally:
            self._expected.pop(task_id, None)
            self._rebalance_pool()
        self._active_kernels.add(kernel)
        try:
            return await run_notebook(
                document,
                kernel,
                reporter,
                self.grace_period,
                task.output_limit,
                task.log_file,
            )
        finally:
            self._active_kernels.discard(kernel)
            self._retire(kernel)
            self._last_step_seen = time.monotonic()
            self._rebalance_pool()

    async def _kernel_for(self, task: StepTask, key: KernelKey, spec: KernelSpec) -> Kernel:
        """A kernel for the step: one started ahead of need if there is one, else a new one."""
        cwd, step_env = self._kernel_place(task)
        if self._pool is not None and can_assign(spec):
            # The kernelspec's own variables win over the step's, as at a kernel's start.
            env = {name: value for name, value in step_env.items() if name not in spec.env}
            while (kernel := await self._pool.take(key)) is not None:
                try:
                    await kernel.assign(cwd, env, min(ASSIGN_TIMEOUT, self.kernel_startup_timeout))
                except BaseException as error:
                    self._retire(kernel, kill=True)
                    if not isinstance(error, Exception):
                        raise
                    log.warning("a kernel started ahead of need was not usable: %s", error)
                    continue
                return kernel
        return await self._start_kernel(key, spec, cwd, {**self._kernel_environ(), **step_env})

    async def _launch_ahead(self, key: KernelKey) -> Kernel:
        """Start a kernel for a step not known yet (see kernels.ASSIGN)."""
        spec = await asyncio.to_thread(self.kernel_spec_manager.get_kernel_spec, key.name)
        if key.namespace is not None:  # made before its step, as the engine would make it
            Path(key.namespace.data_dir).mkdir(parents=True, exist_ok=True)
        assignment = self._runtime() / f"assignment-{uuid.uuid4().hex}.json"
        env = {**self._kernel_environ(), **dict(key.startup_env)}
        env[ASSIGNMENT_VARIABLE] = str(assignment)
        kernel = await self._start_kernel(key, spec, self._runtime() / "idle", env)
        kernel.assignment = assignment
        return kernel

    def _kernel_key(self, name: str, spec: KernelSpec, task: StepTask) -> KernelKey:
        """What a kernel for this step must have been started with."""
        key = kernel_key(name, spec, self._kernel_place(task)[1], self._kernel_environ())
        return replace(key, namespace=self._namespace(task))

    def _namespace(self, task: StepTask) -> OrchestMounts | None:
        """What the step's processes see at /data and /project-dir, if they get a namespace
        (`start` has asked the machine already)."""
        if not self.mount_orchest_paths or mount_namespace.unavailable():
            return None
        return OrchestMounts.of(task)

    def _kernel_place(self, task: StepTask) -> tuple[Path, Mapping[str, str]]:
        """The step's working directory and variables, as its kernel sees them."""
        return task.working_dir, task.env

    def _kernel_environ(self) -> Mapping[str, str]:
        """The environment a kernel starts with, before its step's variables."""
        return os.environ

    async def _start_kernel(
        self, key: KernelKey, spec: KernelSpec, cwd: Path, env: Mapping[str, str]
    ) -> Kernel:
        """Start a kernel: forked if it can be, else through jupyter_client."""
        sockets = self._runtime() / f"kernel-{uuid.uuid4().hex[:12]}"
        server = await self._fork_server(spec) if not key.startup_env else None
        if server is not None:
            try:
                return await server.launch(
                    key,
                    spec,
                    cwd,
                    env,
                    self.kernel_startup_timeout,
                    self.kernel_shutdown_wait,
                    self._zmq_context(),
                    sockets,
                )
            except ForkUnavailable as error:
                log.info("starting a %s kernel without forking: %s", key.name, error)
        return await start_managed_kernel(
            key,
            self.kernel_spec_manager,
            cwd,
            env,
            self.kernel_startup_timeout,
            self.kernel_shutdown_wait,
            self._zmq_context(),
            sockets,
        )

    def _zmq_context(self) -> zmq.asyncio.Context:
        if self._context is None:
            self._context = client_context()
        return self._context

    async def _fork_server(self, spec: KernelSpec) -> ForkServer | None:
        """The running fork server for this kernelspec's Python, started if need be; None if
        its kernels cannot be forked."""
        python = fork_python(spec) if self.fork_kernels else None
        if python is None or python in self._fork_failures:
            return None
        async with self._fork_server_lock:
            server = self._fork_servers.get(python)
            if server is not None and server.usable:
                return server
            if server is not None:
                self._retired_fork_servers.append(server)  # closed at shutdown
            server = ForkServer(python, self._runtime())
            try:
                await server.start(self.kernel_startup_timeout)
            except (OSError, ValueError, ForkUnavailable, asyncio.TimeoutError) as error:
                log.warning("kernels of %s will not be forked: %s", python, error)
                self._fork_failures.add(python)
                self._fork_servers.pop(python, None)
                return None
            self._fork_servers[python] = server
            return server

    async def _script_launcher(self) -> Launcher:
        """The launcher of this executor's scripts that get a mount namespace (forking the
        server for each would cost more; see `launcher`), started at first use."""
        async with self._launcher_lock:
            if self._launcher is None or not self._launcher.usable:
                if self._launcher is not None:
                    await self._launcher.close()
                self._launcher = None
                launcher = Launcher()
                await launcher.start(self.kernel_startup_timeout)
                self._launcher = launcher
            return self._launcher

    def _retire(self, kernel: Kernel, kill: bool = False) -> None:
        """Stop a kernel in the background."""
        if not kill:
            kernel.yield_cpu()
        retiring = asyncio.get_running_loop().create_task(
            kernel.kill() if kill else kernel.shutdown()
        )
        self._retiring.add(retiring)
        retiring.add_done_callback(self._retired)

    def _kill(self, kernel: Kernel) -> None:
        self._retire(kernel, kill=True)

    def _retired(self, retiring: "asyncio.Task[None]") -> None:
        self._retiring.discard(retiring)
        if not retiring.cancelled() and retiring.exception() is not None:
            log.warning("could not stop a kernel: %s", retiring.exception())

    def _kernel_specs(self) -> dict[str, KernelSpec]:
        """The installed kernelspecs, read again when the last reading is older than
        KERNELSPECS_FRESH_FOR: every step asks (a restored one too), and reading them all
        costs a millisecond or more."""
        read_at, specs = self._specs_read
        if time.monotonic() - read_at > KERNELSPECS_FRESH_FOR:
            specs = self._read_kernel_specs()
            self._specs_read = (time.monotonic(), specs)
        return specs

    def _read_kernel_specs(self) -> dict[str, KernelSpec]:
        specs = {}
        for name in self.kernel_spec_manager.find_kernel_specs():
            try:
                specs[name] = self.kernel_spec_manager.get_kernel_spec(name)
            except Exception as error:  # a broken kernel.json must not hide the others
                log.warning("skipping the kernelspec %s: %s", name, error)
        return specs

    async def _plan(self, tasks: list[StepTask]) -> None:
        """Work out the kernels that expected notebook steps will need."""
        specs = await asyncio.to_thread(self._kernel_specs)
        for task in tasks:
            if _task_id(task) not in self._expected:
                continue  # started meanwhile
            try:
                metadata = await asyncio.to_thread(_notebook_metadata, task.file)
                name = choose_kernel(task.kernel_name, metadata, specs)
            except (NotebookError, KernelChoiceError):
                continue  # the step will fail and say why
            expectation = self._expected.get(_task_id(task))
            if expectation is not None and can_assign(specs[name]):
                expectation.key = self._kernel_key(name, specs[name], task)
        self._rebalance_pool()

    def _rebalance_pool(self) -> None:
        if self._pool is None:
            return
        now = time.monotonic()
        for task_id, expectation in list(self._expected.items()):
            if expectation.until <= now:  # a step that will not run after all
                del self._expected[task_id]
        wanted = Counter(e.key for e in self._expected.values() if e.key is not None)
        if self._standby_key is not None and self.standby_kernels > 0:
            standby = self._standby_key
            floor = self.standby_kernels
            if not self._idle():  # keep the standby kernels there are, start none
                floor = min(floor, self._pool.count(standby))
            wanted[standby] = max(wanted[standby], floor)
        targets: dict[KernelKey, int] = {}
        room = self.pool_size
        for key, count in wanted.most_common():
            targets[key] = min(count, room)
            room -= targets[key]
        self._pool.want(targets)

    def _idle(self) -> bool:
        """No notebook step runs, started or ended in the last STANDBY_DELAY seconds. If one
        did, the pool is looked at again once that time is over."""
        if self._active_kernels:
            return False  # the step's end looks again
        wait = self._last_step_seen + STANDBY_DELAY - time.monotonic()
        if wait <= 0:
            return True
        if self._standby_timer is not None:
            self._standby_timer.cancel()
        self._standby_timer = asyncio.get_running_loop().call_later(wait, self._rebalance_pool)
        return False


@dataclass
class _Expectation:
    until: float
    """When to stop expecting it (time.monotonic)."""
    key: KernelKey | None = None
    """The key of the kernel it needs, once known (and if one can be started ahead)."""


def _remove_orphaned_runtime_dirs(parent: Path) -> None:
    """Remove the runtime folders of executors whose process died without shutting down."""
    for folder in parent.glob(f"{RUNTIME_PREFIX}*-*"):
        pid = folder.name[len(RUNTIME_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or folder.stat().st_uid != os.getuid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass  # alive, someone else's


def _task_id(task: StepTask) -> tuple[str, str]:
    return (task.run_id, task.step_uuid)


def _notebook_metadata(path: Path) -> Mapping[str, object]:
    metadata: Mapping[str, object] = ipynb.load(path)["metadata"]
    return metadata
