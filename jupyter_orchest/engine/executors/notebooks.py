"""Notebooks: run a notebook's code cells in a kernel, one by one, and write what they print
back into the `.ipynb` file after every cell, the way JupyterLab's "Run All" shows it.

Only outputs and execution counts change; the notebook's metadata, kernelspec, cell ids and
everything else are kept. A cell's old outputs go when it runs again; cells that do not run
(tagged `skip`, or after a failure) keep theirs. The file is replaced in one rename, never
rewritten in place, so a kernel that dies or a run that is cancelled leaves it whole.

What a cell prints goes to the step's log whole, but the notebook keeps only the start of it
(see `OutputLimit`), then a line saying that the output was cut and where the rest is: a cell
printing without end must not make a notebook JupyterLab cannot open, nor fill the server's
memory while it is held.
"""

import asyncio
import re
from collections.abc import Mapping
from pathlib import Path
from queue import Empty
from typing import Any

from ...services.atomic import write_atomic
from ..model import OutputLimit, StepReporter, StepResult, Stream
from . import ipynb
from .ipynb import Cell, Notebook, Output, StreamText
from .kernels import Kernel, KernelDied

SKIP_TAG = "skip"
"""Cells with this tag (in `metadata.tags`) are not run, as in Orchest."""

DRAIN_TIMEOUT = 0.05
"""Seconds to wait for outputs still in flight from a kernel that has died."""

_ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


def strip_ansi(text: str) -> str:
    """Text without terminal colour codes and other escape sequences."""
    return _ANSI_ESCAPE.sub("", text)


class NotebookFile:
    """A notebook loaded from disk, and saved back to the same path atomically."""

    def __init__(self, path: Path, notebook: Notebook) -> None:
        self.path = path
        self.notebook = notebook
        self._writing: asyncio.Task[None] | None = None

    @classmethod
    def load(cls, path: Path) -> "NotebookFile":
        """NotebookError if the file holds no notebook that can be run."""
        return cls(path, ipynb.load(path))

    async def save(self) -> None:
        """Write the notebook as it is now. Writes happen in order, off the event loop; one
        that has begun completes even if the caller is cancelled."""
        text = ipynb.dumps(self.notebook)
        previous = self._writing

        async def write() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            await asyncio.to_thread(write_atomic, self.path, text)

        self._writing = asyncio.ensure_future(write())
        await asyncio.shield(self._writing)


async def run_notebook(
    document: NotebookFile,
    kernel: Kernel,
    reporter: StepReporter,
    grace_period: float,
    limit: OutputLimit,
    log_file: str,
) -> StepResult:
    """Run the notebook's cells in the kernel. On cancellation, interrupt the kernel, give the
    cell `grace_period` seconds to stop, kill the kernel, save, and re-raise. Each cell keeps
    its printed output up to `limit`; `log_file` says where all of it is."""
    budget = _StreamBudget(limit, log_file)
    return await _NotebookRun(document, kernel, reporter, grace_period, budget).run()


class _NotebookRun:
    def __init__(
        self,
        document: NotebookFile,
        kernel: Kernel,
        reporter: StepReporter,
        grace_period: float,
        budget: "_StreamBudget",
    ) -> None:
        self.document = document
        self.kernel = kernel
        self.reporter = reporter
        self.grace_period = grace_period
        self.budget = budget
        """What the running cell may still keep of what it prints."""
        self.running: tuple[str, Cell] | None = None
        """The request being executed and its cell."""
        self.failure: str | None = None
        """The current cell's error, in words."""
        self.clear_on_next_output = False
        self.displays: dict[str, list[Output]] = {}
        """Outputs by display id, for `update_display_data`."""

    async def run(self) -> StepResult:
        try:
            return await self._run_cells()
        except OSError as error:
            return StepResult(False, f"cannot save {self.document.path}: {error.strerror or error}")

    async def _run_cells(self) -> StepResult:
        for position, cell in enumerate(self.document.notebook["cells"], start=1):
            if cell["cell_type"] != "code" or SKIP_TAG in _tags(cell):
                continue
            cell["outputs"] = []
            cell["execution_count"] = None
            self.budget.reset()
            try:
                code = ipynb.source(cell)
                if code.strip():  # JupyterLab clears an empty cell without running it
                    await self._execute(code, cell)
                await self._save(cell)
            except KernelDied as died:
                await self._drain()
                await self._save(cell)
                return StepResult(
                    False, f"the kernel died while running cell {position} ({died.how})"
                )
            except asyncio.CancelledError:
                await asyncio.shield(self._stop(cell))
                raise
            if self.failure:
                return StepResult(False, f"{self.failure} in cell {position}")
        return StepResult(True)

    async def _execute(self, code: str, cell: Cell) -> None:
        client = self.kernel.client
        request = client.execute(code, store_history=True, allow_stdin=False)
        self.running = (request, cell)
        await self._follow(request, cell)
        self.running = None
        while True:
            reply = await self.kernel.unless_dead(client.get_shell_msg())
            if reply["parent_header"].get("msg_id") == request:
                break
        content = reply["content"]
        if cell["execution_count"] is None:
            cell["execution_count"] = content.get("execution_count")
        if content.get("status") == "error" and not self.failure:
            self.failure = f"{content.get('ename')}: {content.get('evalue')}"
        elif content.get("status") == "aborted":
            self.failure = "the kernel aborted the execution"

    async def _follow(self, request: str, cell: Cell) -> None:
        """Take the request's IOPub messages into the cell until the kernel is idle again."""
        while True:
            message = await self.kernel.unless_dead(self.kernel.client.get_iopub_msg())
            if message["parent_header"].get("msg_id") == request and self._take(message, cell):
                return

    async def _drain(self) -> None:
        """Take the outputs a dead kernel sent before it died."""
        if self.running is None:
            return
        request, cell = self.running
        while True:
            try:
                message = await self.kernel.client.get_iopub_msg(timeout=DRAIN_TIMEOUT)
            except Empty:
                return
            if message["parent_header"].get("msg_id") == request:
                self._take(message, cell)

    async def _stop(self, cell: Cell) -> None:
        """After cancellation: interrupt, let the cell finish for a grace period, kill."""
        if self.running is not None and not self.kernel.exited.done():
            request, running = self.running
            try:
                await self.kernel.interrupt()
                await asyncio.wait_for(self._follow(request, running), self.grace_period)
            except (KernelDied, asyncio.TimeoutError, RuntimeError):
                pass
        await self.kernel.kill()
        await self._save(cell)

    async def _save(self, cell: Cell) -> None:
        """Save the notebook, the cell ending with the note on its cut output, if it has one."""
        self.budget.place_note(cell["outputs"])
        await self.document.save()

    def _take(self, message: Mapping[str, Any], cell: Cell) -> bool:
        """Apply one IOPub message to the cell; True once the execution is over."""
        kind = message["header"]["msg_type"]
        content = message["content"]
        outputs: list[Output] = cell["outputs"]
        if kind == "status":
            return bool(content.get("execution_state") == "idle")
        if kind == "execute_input":
            cell["execution_count"] = content.get("execution_count")
        elif kind == "clear_output":
            if content.get("wait"):
                self.clear_on_next_output = True
            else:
                self._clear(outputs)
        elif kind == "update_display_data":
            for output in self.displays.get(_display_id(content) or "", []):
                output["data"] = ipynb.split_mime_bundle(content.get("data", {}))
                output["metadata"] = content.get("metadata", {})
        elif kind in ("stream", "display_data", "execute_result", "error"):
            if self.clear_on_next_output:
                self._clear(outputs)
                self.clear_on_next_output = False
            self._add_output(kind, content, outputs)
        return False

    def _clear(self, outputs: list[Output]) -> None:
        outputs.clear()
        self.budget.reset()  # what the cell prints next is all the notebook holds of it

    def _add_output(self, kind: str, content: Mapping[str, Any], outputs: list[Output]) -> None:
        if kind == "stream":
            name: Stream = "stderr" if content.get("name") == "stderr" else "stdout"
            text = str(content.get("text", ""))
            self.reporter.log(name, text)
            text = self.budget.keep(text)
            if not text:
                return
            last = outputs[-1] if outputs else None
            if last is None or last["output_type"] != "stream" or last["name"] != name:
                last = {"output_type": "stream", "name": name, "text": StreamText()}
                outputs.append(last)
            last["text"].append(text)
            return
        if kind == "error":
            self.failure = self.failure or f"{content.get('ename')}: {content.get('evalue')}"
            traceback = list(content.get("traceback", []))
            self.reporter.log("stderr", strip_ansi("\n".join(traceback)) + "\n")
            outputs.append(
                {
                    "output_type": "error",
                    "ename": content.get("ename", ""),
                    "evalue": content.get("evalue", ""),
                    "traceback": traceback,
                }
            )
            return
        output: Output = {
            "output_type": kind,
            "data": ipynb.split_mime_bundle(content.get("data", {})),
            "metadata": content.get("metadata", {}),
        }
        if kind == "execute_result":
            output["execution_count"] = content.get("execution_count")
        display_id = _display_id(content)
        if display_id:
            self.displays.setdefault(display_id, []).append(output)
        outputs.append(output)


class _StreamBudget:
    """What one cell may still keep of what it prints (stdout and stderr together): whole
    lines up to the limit, then a note saying how much was left out and where it is."""

    def __init__(self, limit: OutputLimit, log_file: str) -> None:
        self.limit = limit
        self.where = f"in the step's log, {log_file}" if log_file else "in the step's log"
        self.reset()

    def reset(self) -> None:
        self.kept_bytes = self.kept_lines = self.left_out = 0
        self.note: Output | None = None

    def keep(self, text: str) -> str:
        """The part of `text` the notebook keeps; the rest is counted as left out."""
        size = _utf8_size(text)
        if self.note is None:
            room = self.limit.max_bytes - self.kept_bytes
            lines = text.count("\n")
            if size <= room and self.kept_lines + lines <= self.limit.max_lines:
                self.kept_bytes += size
                self.kept_lines += lines
                return text
            kept = self._fitting(text, room)
            self.note = {"output_type": "stream", "name": "stdout", "text": []}
            self.kept_bytes += _utf8_size(kept)
            self.left_out += size - _utf8_size(kept)
            return kept
        self.left_out += size
        return ""

    def _fitting(self, text: str, room: int) -> str:
        """The longest start of `text` within `room` bytes and the lines left, cut after a
        line's end when it can be."""
        start = text[: max(0, room)]  # a character is one byte or more
        if not start.isascii():
            start = start.encode()[:room].decode(errors="ignore")
        end = -1
        for _ in range(self.limit.max_lines - self.kept_lines):
            end = start.find("\n", end + 1)
            if end < 0:
                break
        else:  # the lines left are used up: cut after the last of them
            return start[: end + 1]
        cut = start.rfind("\n") + 1
        return start[:cut] if cut else start

    def place_note(self, outputs: list[Output]) -> None:
        """Put the note, up to date, at the end of the cell's outputs."""
        if self.note is None:
            return
        outputs[:] = [output for output in outputs if output is not self.note]
        self.note["text"] = [
            f"[Output cut: the notebook keeps the first {self.limit.max_lines} lines or "
            f"{_readable(self.limit.max_bytes)} of a cell's output; "
            f"{_readable(self.left_out)} more are {self.where} "
            "(in JupyterLab: right-click the step in the pipeline editor, Show Logs)]\n"
        ]
        outputs.append(self.note)


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode(errors="replace"))


def _readable(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024**2:
        return f"{size / 1024:.1f} KiB"
    return f"{size / 1024**2:.1f} MiB"


def _tags(cell: Cell) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return tags if isinstance(tags, list) else []


def _display_id(content: Mapping[str, Any]) -> str | None:
    transient = content.get("transient")
    display_id = transient.get("display_id") if isinstance(transient, Mapping) else None
    return display_id if isinstance(display_id, str) else None
