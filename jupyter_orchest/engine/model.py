"""What the engine, its executors and its observers say to each other."""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Literal, Protocol


class StepState(str, Enum):
    """A step's state in a run, with Orchest's names."""

    READY = "READY"  # not part of this run, or not reached yet
    PENDING = "PENDING"  # waiting for its parents or for a free slot
    RUNNING = "RUNNING"
    COMPUTED = "COMPUTED"
    ABORTED = "ABORTED"  # cancelled, or skipped because a parent failed
    FAILURE = "FAILURE"

    @property
    def finished(self) -> bool:
        return self in (StepState.COMPUTED, StepState.ABORTED, StepState.FAILURE)


class RunState(str, Enum):
    PENDING = "PENDING"
    STARTED = "STARTED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    ABORTED = "ABORTED"

    @property
    def finished(self) -> bool:
        return self in (RunState.SUCCESS, RunState.FAILURE, RunState.ABORTED)


Stream = Literal["stdout", "stderr"]


@dataclass(frozen=True)
class StepResources:
    """What a step needs to run (the step's `resources`); used where steps are scheduled on a
    cluster (Ray), ignored by local executors."""

    cpus: float = 1.0
    gpus: float = 0.0
    memory: int = 0
    """Bytes; 0: no reservation."""

    @classmethod
    def from_definition(cls, step: Mapping[str, object]) -> "StepResources":
        """From a valid step definition (see the schema): `memory` in bytes or as "2 GiB"."""
        given = step.get("resources")
        given = given if isinstance(given, Mapping) else {}
        return cls(
            cpus=float(given.get("cpus", 1.0)),
            gpus=float(given.get("gpus", 0.0)),
            memory=size_in_bytes(given.get("memory", 0)),
        )


_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(B|[KMGT]i?B)?")
_UNITS = {"B": 1} | {
    f"{prefix}{infix}B": base ** (power + 1)
    for power, prefix in enumerate("KMGT")
    for infix, base in (("", 1000), ("i", 1024))
}


def size_in_bytes(size: object) -> int:
    """Bytes from a whole number of bytes or a size such as "512 MB" or "2 GiB"."""
    if isinstance(size, int | float):
        return int(size)
    match = _SIZE.fullmatch(str(size).strip())
    if match is None:
        raise ValueError(f"{size!r} is not a size such as 2147483648, '512 MB' or '2 GiB'")
    return int(float(match[1]) * _UNITS[match[2] or "B"])


def format_size(count: int) -> str:
    """Bytes in words: `512 B`, `1.5 KiB`, `3.0 GiB`."""
    if count < 1024:
        return f"{count} B"
    size = count / 1024
    for unit in ("KiB", "MiB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


@dataclass(frozen=True)
class AttemptPolicy:
    """How a step is tried (the step's `retries`, `retry_delay` and `timeout`, else its job's
    defaults): honoured alike by every executor (see `attempts`)."""

    retries: int = 0
    """Times a failed attempt is tried again."""
    retry_delay: float = 0.0
    """Seconds between a failed attempt and the next."""
    timeout: float | None = None
    """Seconds an attempt may take before it is stopped and fails; None: no limit."""

    @classmethod
    def from_definition(
        cls, step: Mapping[str, object], defaults: "AttemptPolicy | None" = None
    ) -> "AttemptPolicy":
        """From a valid step definition (see the schema); what it leaves out comes from
        `defaults`."""
        defaults = defaults or cls()
        retries, delay, timeout = (step.get(key) for key in ATTEMPT_KEYS)
        return cls(
            retries=int(retries) if isinstance(retries, int | float) else defaults.retries,
            retry_delay=float(delay) if isinstance(delay, int | float) else defaults.retry_delay,
            timeout=float(timeout) if isinstance(timeout, int | float) else defaults.timeout,
        )

    @property
    def tries(self) -> int:
        return self.retries + 1


ATTEMPT_KEYS = ("retries", "retry_delay", "timeout")
"""The step keys of an AttemptPolicy, in a pipeline file and in a job's defaults."""


@dataclass(frozen=True)
class OutputLimit:
    """How much of a cell's stream output (stdout and stderr) a notebook keeps; the step's log
    keeps all of it. The defaults keep a notebook that printed without end small enough for
    JupyterLab to open at once."""

    max_bytes: int = 1 << 20
    max_lines: int = 5000


@dataclass(frozen=True)
class StepTask:
    """One step of one run, as an executor needs it."""

    run_id: str
    step_uuid: str
    title: str
    file: Path
    """The step's file, absolute; the step runs in its folder."""
    kernel_name: str | None
    """For notebooks: the kernel to use; None means the notebook's own kernelspec."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Variables added to the step's environment (who the step is, where data lives)."""
    environment: str = ""
    """The uuid of the step's environment (see `jupyter_orchest.environments`); empty: none."""
    project_dir: Path | None = None
    """The project folder the step runs in, absolute (for a job's run: the run's own copy)."""
    environments_project_dir: Path | None = None
    """The project whose environments (definitions and builds) the step uses; `project_dir`
    when None. A job's runs use the environments of the project they were copied from."""
    data_dir: Path | None = None
    """The run's data folder (Orchest's /data), absolute."""
    resources: StepResources = field(default_factory=StepResources)
    attempts: AttemptPolicy = field(default_factory=AttemptPolicy)
    output_limit: OutputLimit = field(default_factory=OutputLimit)
    log_file: str = ""
    """Where the step's whole log is, relative to `project_dir` (for a notebook whose output
    was cut to say where the rest is)."""

    @property
    def working_dir(self) -> Path:
        return self.file.parent


@dataclass(frozen=True)
class StepResult:
    succeeded: bool
    message: str = ""
    """Why the step failed, in words for the user; empty on success."""
    cached: bool = False
    """The outputs were restored from the cache rather than computed."""
    reasons: tuple[str, ...] = ()
    """Why the step was computed rather than taken from the cache (see `engine.provenance`)."""
    attempts: int = 1
    """How many times the step was tried."""


class StepRefused(Exception):
    """A step that must not run (e.g. its file is missing); the message says why, for the user."""


class StepReporter(Protocol):
    """Where an executor sends what a step prints while it runs."""

    def log(self, stream: Stream, text: str) -> None: ...


class StepExecutor(Protocol):
    """Runs single steps. Cancellation is asyncio cancellation of `run_step`: the executor
    interrupts the step, kills it after a grace period, and lets CancelledError propagate."""

    async def start(self) -> None:
        """Get ready to run steps (e.g. warm kernels); called once before the first step."""

    def expect(self, tasks: list[StepTask]) -> None:
        """A hint that these steps will run soon, so that their kernels can start early."""

    async def run_step(self, task: StepTask, reporter: StepReporter) -> StepResult: ...

    async def environment_identity(self, task: StepTask) -> str:
        """What software this step would run with, as a string that changes when that
        software does (e.g. a hash of a Python's installed distributions, or an image id):
        part of the step's cache key. Cheap after the first call for an environment."""

    async def orchest_paths_unavailable(self, task: StepTask) -> str:
        """Why this step would not see its data folder at /data and its project at
        /project-dir where it runs, or "" when it would (or when only the machine it runs on
        can tell, which then refuses it if need be)."""

    async def shutdown(self) -> None:
        """Stop every process this executor started."""


def executor_name(executor: StepExecutor) -> str:
    """What runs the steps, for provenance: an executor that wraps another (to mask output,
    to wait for a session) names the one it wraps, as `executor_name`."""
    return str(getattr(executor, "executor_name", type(executor).__name__))
