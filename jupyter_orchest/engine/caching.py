"""Caching and provenance around an executor, for one run.

`CachedSteps` stands between the runner and the executor. For each step it computes the key
(see `provenance.KeyParts`), looks it up, and on a hit restores the outputs (the step's
outputs folder, the notebook's cell outputs, the log, the files it wrote in its project and
data folders: see `step_files`) instead of running the step; on a miss it runs the step, says
why (against the step's last computed run), and keeps the result. Either way it writes the
step's provenance record. Steps that will probably be restored are not announced to the
executor, so that no kernel is started ahead for them.
"""

import asyncio
import contextlib
import json
import logging
import socket
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..sdk.atomic import write_bytes_atomic
from ..sdk.manifest import MANIFEST_FILE, OutputRecord, dump_manifest
from ..sdk.outputs import read_manifest
from ..sdk.serialization import Serialization
from .cache import CacheEntry, ObjectMissing, StepCache
from .file_restore import UnsafePath
from .hashing import FileDigests, stable_key
from .logs import step_log_path
from .model import StepExecutor, StepReporter, StepResult, StepTask
from .output_patterns import OutputPatterns
from .planning import PlannedStep, RunPlan
from .provenance import (
    InputDigest,
    KeyParts,
    NoLedger,
    OutputDigest,
    ProvenanceLedger,
    StepProvenance,
    WrittenFile,
    rerun_reasons,
)
from .step_files import KeptFiles, RestorePlan, StepFiles
from .write_windows import Window, WriteWindows
from .written_files import FileRoots

log = logging.getLogger(__name__)

NOTEBOOK_FILE = "@notebook"
"""The name under which an entry keeps a notebook's cell outputs."""
LOG_FILE = "@log"
"""The name under which an entry keeps what the step printed."""
REPLAYED_LOG_LIMIT = 1 << 20
"""Bytes of the end of a cached step's log sent again to the run's log and live events."""
REPLAY_CHUNK = 64 * 1024

FORCED = "forced"
OPTED_OUT = "caching is off for this step"


@dataclass
class Caching:
    """What runs share: the cache (None: nothing is cached or restored, provenance is still
    recorded), the provenance ledger, and who executed when (to tell whose a file is)."""

    cache: StepCache | None = None
    ledger: ProvenanceLedger = field(default_factory=NoLedger)
    digests: FileDigests = field(default_factory=FileDigests)
    windows: WriteWindows = field(default_factory=WriteWindows)

    def __post_init__(self) -> None:
        if self.cache is not None:
            self.digests = self.cache.digests  # one memory of file digests


@dataclass(frozen=True)
class RunContext:
    """What `CachedSteps` needs to know about its run."""

    run_id: str
    pipeline_uuid: str
    project_dir: Path
    data_dir: Path
    outputs_dir: Path
    logs_dir: Path
    parameters: Mapping[str, Any]
    """The run's effective parameters: {"pipeline": {...}, "steps": {uuid: {...}}}."""
    force: bool = False
    variable_digests: Mapping[str, str] = field(default_factory=dict)
    """The keyed digests of the user's variables the steps get, by name."""


class CachedSteps:
    """A StepExecutor for one run that looks steps up before running them (module docs)."""

    def __init__(
        self,
        executor: StepExecutor,
        caching: Caching,
        plan: RunPlan,
        run: RunContext,
        git_commit: str = "",
        executor_name: str = "",
    ) -> None:
        """`executor_name`: the executor that runs the steps, for their provenance, when
        `executor` wraps it (by default `executor`'s class)."""
        self.executor, self.caching, self.plan, self.run = executor, caching, plan, run
        self.git_commit = git_commit
        self.executor_name = executor_name or type(executor).__name__
        self.host = socket.gethostname()
        self.files = (
            StepFiles(
                caching.cache,
                caching.windows,
                FileRoots.of(run.project_dir, run.data_dir),
                run.run_id,
            )
            if caching.cache is not None
            else None
        )
        self._waiting: dict[str, StepTask] = {}
        """Steps not announced to the executor yet, because they will probably be restored."""
        self._computed: set[str] = set()
        """Steps of this run that ran (or are running) rather than being restored."""

    # The executor protocol

    async def start(self) -> None:
        await self.executor.start()

    async def shutdown(self) -> None:
        pass  # the executor is shared: whoever made it shuts it down

    async def environment_identity(self, task: StepTask) -> str:
        return await self.executor.environment_identity(task)

    async def orchest_paths_unavailable(self, task: StepTask) -> str:
        return await self.executor.orchest_paths_unavailable(task)

    def expect(self, tasks: list[StepTask]) -> None:
        """Announce the steps that will run. A step the cache knows is announced only once
        one of its parents in this run had to run (its inputs then probably change): if
        none does, it is probably restored, and a kernel started for it would be wasted."""
        now = []
        for task in tasks:
            step = self.plan.step(task.step_uuid)
            if self._likely_restored(step):
                self._waiting[step.uuid] = task
            else:
                now.append(task)
        if now:
            self.executor.expect(now)

    async def run_step(self, task: StepTask, reporter: StepReporter) -> StepResult:
        step = self.plan.step(task.step_uuid)
        started = _now()
        may_restore = self._may_restore(step)
        try:
            environment = await self.executor.environment_identity(task)
            # One trip to a thread for all the file work of a step that is restored.
            parts, restored = await asyncio.to_thread(
                self._key_and_restore, step, task, environment, may_restore, started
            )
        except Exception as error:  # e.g. a notebook that cannot be read: the step will say
            log.warning("step %s cannot be keyed; it runs uncached: %s", step.uuid, error)
            self._will_compute(step)
            with self._window(step):  # for the files of other steps only
                result = await self.executor.run_step(task, reporter)
            return replace(result, reasons=(f"its cache key could not be computed: {error}",))
        if isinstance(restored, _Restored):
            if restored.log_tail is not None:
                self._replay_log(restored.entry, restored.log_tail, reporter)
            return StepResult(True, cached=True)
        if restored is not None:
            reasons: tuple[str, ...] = (restored,)
        elif may_restore:
            previous = await asyncio.to_thread(
                self.caching.ledger.previous, self.run.pipeline_uuid, step.uuid
            )
            reasons = tuple(rerun_reasons(previous, parts))
        else:
            reasons = (FORCED,) if step.cache and self.caching.cache is not None else (OPTED_OUT,)
        self._will_compute(step)
        return await self._execute(step, task, parts, reasons, reporter, started)

    # Inside

    def _likely_restored(self, step: PlannedStep) -> bool:
        if not self._may_restore(step) or any(p in self._computed for p in step.parents):
            return False
        try:
            return self.caching.cache is not None and self.caching.cache.knows_step(step.uuid)
        except Exception:  # a cache that cannot be read must not hold the run up
            return False

    def _will_compute(self, step: PlannedStep) -> None:
        """The step runs for real: announce its children that were held back."""
        self._computed.add(step.uuid)
        children = [self._waiting.pop(c) for c in step.children if c in self._waiting]
        if children:
            self.executor.expect(children)

    def _may_restore(self, step: PlannedStep) -> bool:
        forced = self.run.force and step.uuid in self.plan.selected
        return self.caching.cache is not None and step.cache and not forced

    def _key_and_restore(
        self,
        step: PlannedStep,
        task: StepTask,
        environment: str,
        may_restore: bool,
        started: datetime,
    ) -> tuple[KeyParts, "_Restored | str | None"]:
        """The step's key parts and, if it may be restored and the cache has its key, what
        restoring it gave (see `_restore_files`)."""
        parts = self._key_parts(step, environment)
        restored = self._restore_files(step, task, parts, started) if may_restore else None
        return parts, restored

    def _key_parts(self, step: PlannedStep, environment: str) -> KeyParts:
        code, kernel = self._code_digest(step)
        inputs = self._input_digests(step)
        parameters = self.run.parameters
        return KeyParts(
            step_uuid=step.uuid,
            file_path=step.file_path,
            code=code,
            kernel=kernel,
            step_parameters=dict(parameters["steps"].get(step.uuid, {})),
            pipeline_parameters=dict(parameters["pipeline"]),
            environment=environment,
            inputs=inputs,
            env_variables=dict(self.run.variable_digests),
        )

    def _code_digest(self, step: PlannedStep) -> tuple[str, str]:
        if not _is_notebook(step.file):
            return self.caching.digests.digest(step.file), ""
        from .executors import ipynb  # the executors' imports only when a run really starts
        from .executors.notebooks import SKIP_TAG

        notebook = ipynb.load(step.file)
        cells = [
            [ipynb.source(cell), SKIP_TAG in _tags(cell)]
            for cell in notebook["cells"]
            if cell["cell_type"] == "code"
        ]
        kernelspec = notebook["metadata"].get("kernelspec")
        own = kernelspec.get("name") if isinstance(kernelspec, dict) else None
        kernel = step.kernel_name or (own if isinstance(own, str) else "")
        return stable_key({"cells": cells}), kernel

    def _input_digests(self, step: PlannedStep) -> tuple[InputDigest, ...]:
        digests = []
        for parent, title in step.upstream:
            outputs = self._output_digests(self.run.outputs_dir / parent)
            run_id = outputs[1] if outputs is not None else ""
            digest = _outputs_digest(outputs[0]) if outputs is not None else ""
            digests.append(InputDigest(parent, title, digest, run_id))
        return tuple(digests)

    def _output_digests(self, step_dir: Path) -> tuple[tuple[OutputDigest, ...], str] | None:
        """The outputs in a step's folder and the run that wrote them; None if it has none."""
        records = read_manifest(str(step_dir))
        if records is None:
            return None
        outputs = tuple(
            OutputDigest(
                record.name,
                record.serialization.name,
                self.caching.digests.digest(step_dir / record.file),
                record.size,
            )
            for record in records
        )
        return outputs, (records[0].run_uuid if records else "")

    def _restore_files(
        self, step: PlannedStep, task: StepTask, parts: KeyParts, started: datetime
    ) -> "_Restored | str | None":
        """Everything a hit does on disk and in the database, in one go off the event loop
        (a restored step should cost milliseconds): the entry and the end of its log; or why the
        entry cannot be used here; None on a miss."""
        cache, files = self.caching.cache, self.files
        assert cache is not None and files is not None
        try:
            entry = cache.lookup(parts.key)
            if entry is None:
                return None
            plan = files.plan(entry)
            if plan.refusal:
                return plan.refusal
            self._put_back(step, entry, plan)
            stored_log = entry.file(LOG_FILE)
            log_tail = (
                cache.read_tail(stored_log, REPLAYED_LOG_LIMIT) if stored_log is not None else None
            )
        except UnsafePath as error:  # a folder became a link while it was restored
            return f"its file cannot be written back: {error}"
        except (ObjectMissing, OSError, ValueError) as error:
            log.warning("step %s could not be restored from the cache: %s", step.uuid, error)
            cache.forget(parts.key)
            return None
        outputs = self._output_digests(self._step_dir(step))
        notebook = entry.file(NOTEBOOK_FILE)
        provenance = self._provenance(
            step,
            task,
            parts,
            state="COMPUTED",
            message="",
            cached=True,
            source_run_id=entry.run_id,
            reasons=(),
            outputs=outputs[0] if outputs else (),
            notebook_digest=notebook.digest if notebook else "",
            started=started,
            files=plan.files,
        )
        try:
            self.caching.ledger.record(provenance)
        except Exception:
            log.exception("the provenance of step %s was not recorded", step.uuid)
        return _Restored(entry, log_tail)

    def _put_back(self, step: PlannedStep, entry: CacheEntry, plan: RestorePlan) -> None:
        cache, files = self.caching.cache, self.files
        assert cache is not None and files is not None
        notebook = entry.file(NOTEBOOK_FILE)
        if notebook is not None:
            _restore_notebook_outputs(step.file, json.loads(cache.read_text(notebook)))
        step_dir = self._step_dir(step)
        step_dir.mkdir(parents=True, exist_ok=True)
        records = []
        for name, file, serialization, size, written_at in entry.details["outputs"]:
            stored = entry.file(file)
            if stored is None:
                raise ObjectMissing(f"the entry lists {file} but does not keep it")
            cache.restore_file(stored, step_dir / file)
            kind = Serialization[serialization]
            records.append(OutputRecord(name, file, kind, size, self.run.run_id, written_at))
        if records:
            manifest = dump_manifest(step.uuid, records).encode("utf-8")
            write_bytes_atomic(str(step_dir / MANIFEST_FILE), manifest)
        files.restore(plan)

    def _replay_log(self, entry: CacheEntry, tail: tuple[str, int], reporter: StepReporter) -> None:
        text, left_out = tail
        if left_out:
            text = f"[{left_out} bytes left out]\n" + text
        # The note and the log in one event when the log is short: each event costs a write
        # and a message to every client.
        text = f"[restored from the cache: computed by run {entry.run_id}]\n" + text
        for start in range(0, len(text), REPLAY_CHUNK):
            reporter.log("stdout", text[start : start + REPLAY_CHUNK])

    async def _execute(
        self,
        step: PlannedStep,
        task: StepTask,
        parts: KeyParts,
        reasons: tuple[str, ...],
        reporter: StepReporter,
        started: datetime,
    ) -> StepResult:
        with self._window(step) as window:
            try:
                result = await self.executor.run_step(task, reporter)
            except asyncio.CancelledError:
                # At once, without a thread: the step is being cancelled and must not wait.
                provenance = self._provenance(
                    step,
                    task,
                    parts,
                    state="ABORTED",
                    message="The step was cancelled.",
                    cached=False,
                    source_run_id=self.run.run_id,
                    reasons=reasons,
                    outputs=(),
                    notebook_digest="",
                    started=started,
                )
                try:
                    self.caching.ledger.record(provenance)
                except Exception:
                    log.exception("the provenance of step %s was not recorded", step.uuid)
                raise
            finally:
                if window is not None:
                    self.caching.windows.close(window)
            outputs: tuple[OutputDigest, ...] = ()
            notebook_digest = ""
            kept = KeptFiles()
            if result.succeeded:
                try:
                    outputs, notebook_digest, kept = await asyncio.to_thread(
                        self._keep, step, parts, window
                    )
                except Exception as error:  # the step succeeded; only its reuse is lost
                    log.warning("the result of step %s was not cached: %s", step.uuid, error)
        if kept.not_cached:
            reasons += (f"its result cannot be cached: {kept.not_cached}",)
        provenance = self._provenance(
            step,
            task,
            parts,
            state="COMPUTED" if result.succeeded else "FAILURE",
            message=result.message,
            cached=False,
            source_run_id=self.run.run_id,
            reasons=reasons,
            outputs=outputs,
            notebook_digest=notebook_digest,
            started=started,
            files=kept.files,
            not_cached=kept.not_cached,
        )
        await self._record(provenance)
        return replace(result, reasons=reasons)

    @contextlib.contextmanager
    def _window(self, step: PlannedStep) -> Iterator[Window | None]:
        """While a step executes, the files written in its folders may be its own; steps run
        uncached open a window too, so that others know whose files may be theirs. It is let
        go once the step's own files are found (or will not be)."""
        if self.files is None:
            yield None
            return
        roots = (self.files.roots.project, self.files.roots.data)
        window = self.caching.windows.open(step.title, self.run.run_id, roots, self._patterns(step))
        try:
            yield window
        finally:
            self.caching.windows.release(window)

    def _patterns(self, step: PlannedStep) -> OutputPatterns:
        try:
            return OutputPatterns(step.output_files)
        except Exception as error:  # validation reports them; the step is not held up here
            log.warning("the output_files of step %s cannot be read: %s", step.uuid, error)
            return OutputPatterns(())

    def _keep(
        self, step: PlannedStep, parts: KeyParts, window: Window | None
    ) -> tuple[tuple[OutputDigest, ...], str, KeptFiles]:
        """Digest the step's outputs and, unless it opted out, keep them in the cache with
        the files it wrote (found in its `window`)."""
        step_dir = self._step_dir(step)
        found = self._output_digests(step_dir)
        outputs = found[0] if found is not None else ()
        cache, step_files = self.caching.cache, self.files
        if cache is None or step_files is None or window is None or not step.cache:
            return outputs, "", KeptFiles()
        kept = step_files.keep(window)
        if kept.not_cached:
            cache.forget(parts.key)  # an older result of the key is not this one
            return outputs, "", kept
        records = read_manifest(str(step_dir)) or []
        files = {record.file: step_dir / record.file for record in records}
        log_path = step_log_path(self.run.logs_dir, step.uuid)
        if log_path.is_file() and log_path.stat().st_size:
            files[LOG_FILE] = log_path
        notebook_outputs = None
        if _is_notebook(step.file):
            notebook_outputs = self.run.logs_dir / f".{step.uuid}.{uuid.uuid4().hex}.outputs"
            text = json.dumps(_notebook_outputs(step.file), ensure_ascii=False)
            notebook_outputs.write_text(text, encoding="utf-8")
            files[NOTEBOOK_FILE] = notebook_outputs
        try:
            entry = cache.store(
                key=parts.key,
                static_key=parts.static_key,
                step_uuid=step.uuid,
                run_id=self.run.run_id,
                files=files,
                copies=kept.stored,
                details={
                    "outputs": [
                        [r.name, r.file, r.serialization.name, r.size, r.written_at]
                        for r in records
                    ],
                    "files": kept.details,
                },
            )
        finally:
            if notebook_outputs is not None:
                notebook_outputs.unlink()
        notebook = entry.file(NOTEBOOK_FILE)
        return outputs, notebook.digest if notebook else "", kept

    def _provenance(
        self,
        step: PlannedStep,
        task: StepTask,
        parts: KeyParts,
        *,
        state: str,
        message: str,
        cached: bool,
        source_run_id: str,
        reasons: tuple[str, ...],
        outputs: tuple[OutputDigest, ...],
        notebook_digest: str,
        started: datetime,
        files: tuple[WrittenFile, ...] = (),
        not_cached: str = "",
    ) -> StepProvenance:
        return StepProvenance(
            run_id=self.run.run_id,
            pipeline_uuid=self.run.pipeline_uuid,
            step_uuid=step.uuid,
            title=step.title,
            key=parts.key,
            parts=parts,
            state=state,
            message=message,
            cached=cached,
            source_run_id=source_run_id,
            reasons=reasons,
            outputs=outputs,
            outputs_digest=_outputs_digest(outputs) if state == "COMPUTED" else "",
            notebook_digest=notebook_digest,
            environment_uuid=task.environment,
            executor=self.executor_name,
            host=self.host,
            git_commit=self.git_commit,
            project_dir=str(self.run.project_dir),
            started_at=started,
            finished_at=_now(),
            files=files,
            not_cached=not_cached,
        )

    async def _record(self, provenance: StepProvenance) -> None:
        try:
            await asyncio.to_thread(self.caching.ledger.record, provenance)
        except Exception:
            log.exception("the provenance of step %s was not recorded", provenance.step_uuid)

    def _step_dir(self, step: PlannedStep) -> Path:
        return self.run.outputs_dir / step.uuid


@dataclass(frozen=True)
class _Restored:
    entry: CacheEntry
    log_tail: tuple[str, int] | None
    """The end of the step's log, with how many bytes come before it."""


def _outputs_digest(outputs: tuple[OutputDigest, ...]) -> str:
    return stable_key([[o.name, o.serialization, o.digest] for o in outputs])


def _notebook_outputs(path: Path) -> dict[str, Any]:
    """The outputs of the notebook's code cells, in order; None for cells that did not run."""
    from .executors import ipynb
    from .executors.notebooks import SKIP_TAG

    notebook = ipynb.load(path)
    return {
        "cells": [
            None
            if SKIP_TAG in _tags(cell)
            else {"outputs": cell.get("outputs", []), "execution_count": cell["execution_count"]}
            for cell in notebook["cells"]
            if cell["cell_type"] == "code"
        ]
    }


def _restore_notebook_outputs(path: Path, stored: dict[str, Any]) -> None:
    """Put stored outputs into the user's notebook as it is now (its markdown, metadata and
    everything else kept), replacing the file in one rename."""
    from ..services.atomic import write_atomic
    from .executors import ipynb

    notebook = ipynb.load(path)
    code_cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    if len(code_cells) != len(stored["cells"]):
        raise ValueError("the notebook's code cells differ from the cached ones")
    changed = False
    for cell, outputs in zip(code_cells, stored["cells"], strict=True):
        if outputs is not None and (
            cell.get("outputs") != outputs["outputs"]
            or cell.get("execution_count") != outputs["execution_count"]
        ):
            cell["outputs"] = outputs["outputs"]
            cell["execution_count"] = outputs["execution_count"]
            changed = True
    if changed:  # usually not, on a rerun: the notebook shows the outputs of the last one
        write_atomic(path, ipynb.dumps(notebook))


def _is_notebook(file: Path) -> bool:
    return file.suffix.lower() == ".ipynb"


def _tags(cell: Mapping[str, Any]) -> list[Any]:
    tags = cell.get("metadata", {}).get("tags", [])
    return tags if isinstance(tags, list) else []


def _now() -> datetime:
    return datetime.now(timezone.utc)
