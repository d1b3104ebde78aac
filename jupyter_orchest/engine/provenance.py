"""Provenance: what determined a step's result, where it came from, and why it was computed
again. The engine writes a record for every step run to a `ProvenanceLedger` (the database in
the server and the CLI; `NoLedger` by default, so no code checks for None)."""

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from .hashing import stable_key

KEY_VERSION = 2
"""Part of every key: a change to what keys cover, or to what an entry keeps, makes old
entries unreachable (2: entries keep the files a step writes)."""


@dataclass(frozen=True)
class InputDigest:
    """One parent's outputs as a child read them."""

    step_uuid: str
    title: str
    digest: str
    """Of the parent's outputs (names, kinds and contents), or "" when it has none."""
    run_id: str
    """The run that wrote them, as their manifest says ("" when unknown)."""


@dataclass(frozen=True)
class KeyParts:
    """Everything that determines a step's result."""

    step_uuid: str
    file_path: str
    code: str
    """Digest of the file: for notebooks, of the code cells' sources (and which are skipped)."""
    kernel: str
    """For notebooks: the kernel it asks for; empty for scripts."""
    step_parameters: dict[str, Any]
    pipeline_parameters: dict[str, Any]
    environment: str
    """The executor's identity of the software the step runs with."""
    inputs: tuple[InputDigest, ...]
    env_variables: dict[str, str] = field(default_factory=dict)
    """The user's environment variables the step gets: their keyed digests by name, never
    their values (see `projects.variables`)."""

    def static_json(self) -> dict[str, Any]:
        static = {
            "version": KEY_VERSION,
            "step_uuid": self.step_uuid,
            "code": self.code,
            "kernel": self.kernel,
            "step_parameters": self.step_parameters,
            "pipeline_parameters": self.pipeline_parameters,
            "environment": self.environment,
        }
        if self.env_variables:  # only then: the keys of steps without any stay as they were
            static["env_variables"] = self.env_variables
        return static

    @property
    def static_key(self) -> str:
        """The key without the inputs."""
        return stable_key(self.static_json())

    @property
    def key(self) -> str:
        inputs = [[item.step_uuid, item.digest] for item in self.inputs]
        return stable_key({**self.static_json(), "inputs": inputs})

    def to_json(self) -> dict[str, Any]:
        return {
            "file_path": self.file_path,
            "code": self.code,
            "kernel": self.kernel,
            "step_parameters": self.step_parameters,
            "pipeline_parameters": self.pipeline_parameters,
            "environment": self.environment,
            "env_variables": self.env_variables,
        }


@dataclass(frozen=True)
class OutputDigest:
    name: str | None
    serialization: str
    digest: str
    size: int


@dataclass(frozen=True)
class WrittenFile:
    """A file a step created or changed in its project or data folder (see `written_files`)."""

    root: str
    """"project" or "data"."""
    path: str
    """Relative to its folder, with forward slashes."""
    size: int
    digest: str
    shared_with: tuple[str, ...] = ()
    """The steps that executed when it was written and could have written it too. The cache
    keeps no such file: a hit needs it present as it was."""


@dataclass(frozen=True)
class StepProvenance:
    run_id: str
    pipeline_uuid: str
    step_uuid: str
    title: str
    key: str
    parts: KeyParts
    state: str
    """COMPUTED, FAILURE or ABORTED."""
    message: str
    cached: bool
    source_run_id: str
    """The run that computed the outputs: this one, or for a cached step the one it reused."""
    reasons: tuple[str, ...]
    """Why it was computed rather than taken from the cache; empty when cached."""
    outputs: tuple[OutputDigest, ...]
    outputs_digest: str
    notebook_digest: str
    """Digest of the notebook's outputs, for notebook steps that succeeded."""
    environment_uuid: str
    executor: str
    host: str
    git_commit: str
    project_dir: str
    started_at: datetime
    finished_at: datetime
    files: tuple[WrittenFile, ...] = ()
    """The files it wrote (for a cached step: those the run that computed it wrote)."""
    not_cached: str = ""
    """Why its result was not kept in the cache although it was computed (a file too big)."""


@dataclass(frozen=True)
class StepExecutionLog:
    """One row per step execution, in Orcapod's spirit; output bounded (see `BoundedLog`)."""

    run_id: str
    step_uuid: str
    title: str
    at: datetime
    stdout: str
    stderr: str
    traceback: str
    error: str
    success: bool


class ProvenanceLedger(Protocol):
    def previous(self, pipeline_uuid: str, step_uuid: str) -> StepProvenance | None:
        """The step's latest record that COMPUTED, from any earlier run."""

    def record(self, provenance: StepProvenance) -> None: ...

    def record_execution(self, log: StepExecutionLog) -> None:
        """One attempt of a step: what it printed (the tail), its error, its outcome."""


class NoLedger:
    def previous(self, pipeline_uuid: str, step_uuid: str) -> StepProvenance | None:
        return None

    def record(self, provenance: StepProvenance) -> None:
        pass

    def record_execution(self, log: StepExecutionLog) -> None:
        pass


@dataclass
class BoundedLog:
    """What a step printed, keeping the last `limit` characters of each stream."""

    limit: int = 64 * 1024
    texts: dict[str, list[str]] = field(default_factory=lambda: {"stdout": [], "stderr": []})
    sizes: dict[str, int] = field(default_factory=lambda: {"stdout": 0, "stderr": 0})
    dropped: dict[str, int] = field(default_factory=lambda: {"stdout": 0, "stderr": 0})

    def add(self, stream: str, text: str) -> None:
        pieces = self.texts[stream]
        pieces.append(text)
        self.sizes[stream] += len(text)
        while self.sizes[stream] > self.limit and len(pieces) > 1:
            self.sizes[stream] -= len(pieces[0])
            self.dropped[stream] += len(pieces.pop(0))

    def text(self, stream: str) -> str:
        joined = "".join(self.texts[stream])
        dropped = self.dropped[stream] + max(0, len(joined) - self.limit)
        joined = joined[-self.limit :]
        return f"[{dropped} characters before these left out]\n{joined}" if dropped else joined

    def traceback(self) -> str:
        """The last Python traceback in stderr, if there is one."""
        stderr = self.text("stderr")
        start = stderr.rfind("Traceback (most recent call last)")
        if start < 0:
            return ""
        line_start = stderr.rfind("\n", 0, start) + 1
        return stderr[line_start:]


def rerun_reasons(previous: StepProvenance | None, current: KeyParts) -> list[str]:
    """Why a step with `current` parts missed the cache, compared with its last computed run."""
    if previous is None:
        return ["not run before"]
    before = previous.parts
    reasons: list[str] = []
    if before.code != current.code:
        reasons.append("file changed")
    if before.file_path != current.file_path and before.code == current.code:
        reasons.append(f"file changed from `{before.file_path}` to `{current.file_path}`")
    if before.kernel != current.kernel:
        reasons.append(f"kernel changed from `{before.kernel}` to `{current.kernel}`")
    reasons += _parameter_changes("parameter", before.step_parameters, current.step_parameters)
    reasons += _parameter_changes(
        "pipeline parameter", before.pipeline_parameters, current.pipeline_parameters
    )
    if before.environment != current.environment:
        reasons.append("environment changed")
    reasons += _variable_changes(before.env_variables, current.env_variables)
    earlier = {item.step_uuid: item for item in before.inputs}
    now = {item.step_uuid: item for item in current.inputs}
    for uuid, item in now.items():
        if uuid not in earlier:
            reasons.append(f"upstream `{item.title}` is new")
        elif earlier[uuid].digest != item.digest:
            reasons.append(f"upstream `{item.title}` output changed")
    gone = [item for uuid, item in earlier.items() if uuid not in now]
    reasons += [f"upstream `{item.title}` was removed" for item in gone]
    if not reasons and previous.not_cached:
        reasons.append(f"its last result could not be cached: {previous.not_cached}")
    elif not reasons and previous.key != current.key:
        reasons.append("its cached result was made by an older version of the cache")
    elif not reasons:
        reasons.append("its cached result is gone (evicted or cleared)")
    return reasons


def _parameter_changes(what: str, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    changes = []
    for name in sorted(set(before) | set(after)):
        if name not in before:
            changes.append(f"{what} `{name}` added ({_show(after[name])})")
        elif name not in after:
            changes.append(f"{what} `{name}` removed (was {_show(before[name])})")
        elif stable_key(before[name]) != stable_key(after[name]):
            changes.append(
                f"{what} `{name}` changed from {_show(before[name])} to {_show(after[name])}"
            )
    return changes


def _variable_changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Like `_parameter_changes`, without values: variables may hold secrets."""
    changes = []
    for name in sorted(set(before) | set(after)):
        if name not in before:
            changes.append(f"environment variable `{name}` added")
        elif name not in after:
            changes.append(f"environment variable `{name}` removed")
        elif before[name] != after[name]:
            changes.append(f"environment variable `{name}` changed")
    return changes


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def git_commit(folder: Path) -> str:
    """The commit checked out in the git repository holding `folder`, read from its files
    (no git process); "" when there is none."""
    for candidate in (folder, *folder.parents):
        dot_git = candidate / ".git"
        if dot_git.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
            if not text.startswith("gitdir:"):
                return ""
            dot_git = (candidate / text.partition(":")[2].strip()).resolve()
        if dot_git.is_dir():
            return _head_commit(dot_git)
    return ""


def _head_commit(git_dir: Path) -> str:
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        return ""
    if not head.startswith("ref:"):
        return head
    ref = head.partition(":")[2].strip()
    common = git_dir
    commondir = git_dir / "commondir"
    if commondir.is_file():  # a worktree's branches live in the main repository
        common = (git_dir / commondir.read_text(encoding="utf-8").strip()).resolve()
    for folder in (git_dir, common):
        with_ref = folder / ref
        if with_ref.is_file():
            return with_ref.read_text(encoding="utf-8").strip()
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8").splitlines():
            commit, _, name = line.partition(" ")
            if name == ref:
                return commit
    return ""  # a branch without commits yet
