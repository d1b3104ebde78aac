"""Notebooks: run a notebook's code cells in a kernel, one by one, and write what they print
back into the `.ipynb` file after every cell, the way JupyterLab's "Run All" shows it.

Only outputs and execution counts change; the notebook's metadata, kernelspec, cell ids and
everything else are kept. A cell's old outputs go when it runs again; cells that do not run
(tagged `skip`, or after a failure) keep theirs. The file is replaced in one rename, never
rewritten in place, so a kernel that dies or a run that is cancelled leaves it whole.
"""

import asyncio
import json
import re
from collections.abc import Mapping
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbformat.validator import iter_validate

from ...services.atomic import write_atomic
from ..model import StepReporter, StepResult
from .kernels import Kernel, KernelDied

SKIP_TAG = "skip"
"""Cells with this tag (in `metadata.tags`) are not run, as in Orchest."""

DRAIN_TIMEOUT = 0.05
"""Seconds to wait for outputs still in flight from a kernel that has died."""

_ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


def strip_ansi(text: str) -> str:
    """Text without terminal colour codes and other escape sequences."""
    return _ANSI_ESCAPE.sub("", text)


class NotebookError(Exception):
    """The file cannot be run as a notebook; the message says why, for the user."""


class NotebookFile:
    """A notebook loaded from disk, and saved back to the same path atomically."""

    def __init__(self, path: Path, notebook: NotebookNode) -> None:
        self.path = path
        self.notebook = notebook
        self._writing: asyncio.Task[None] | None = None

    @classmethod
    def load(cls, path: Path) -> "NotebookFile":
        name = path.name
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise NotebookError(f"the notebook {path} does not exist") from None
        except UnicodeDecodeError:
            raise NotebookError(f"{name} is not a notebook: it is not UTF-8 text") from None
        except OSError as error:
            raise NotebookError(f"cannot read {path}: {error.strerror}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise NotebookError(
                f"{name} is not a notebook: it is not valid JSON "
                f"({error.msg} at line {error.lineno}, column {error.colno})"
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("nbformat"), int):
            raise NotebookError(f"{name} is not a Jupyter notebook: it has no nbformat version")
        try:
            notebook = nbformat.convert(nbformat.reader.reads(text), 4)  # type: ignore[no-untyped-call]
            errors = list(iter_validate(notebook))  # type: ignore[no-untyped-call]
        except (ValueError, KeyError, TypeError) as error:
            raise NotebookError(f"{name} is not a valid notebook: {error}") from None
        # Like JupyterLab, run and save a notebook whose metadata breaks the schema (e.g. a
        # kernelspec without display name), which running cannot make worse.
        for problem in errors:
            if "metadata" not in list(problem.absolute_path):
                raise NotebookError(f"{name} is not a valid notebook: {problem.message}")
        return cls(path, notebook)

    async def save(self) -> None:
        """Write the notebook as it is now. Writes happen in order, off the event loop; one
        that has begun completes even if the caller is cancelled."""
        text = nbformat.v4.writes(self.notebook) + "\n"  # type: ignore[no-untyped-call]
        previous = self._writing

        async def write() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            await asyncio.to_thread(write_atomic, self.path, text)

        self._writing = asyncio.ensure_future(write())
        await asyncio.shield(self._writing)


async def run_notebook(
    document: NotebookFile, kernel: Kernel, reporter: StepReporter, grace_period: float
) -> StepResult:
    """Run the notebook's cells in the kernel. On cancellation, interrupt the kernel, give the
    cell `grace_period` seconds to stop, kill the kernel, save, and re-raise."""
    return await _NotebookRun(document, kernel, reporter, grace_period).run()


class _NotebookRun:
    def __init__(
        self, document: NotebookFile, kernel: Kernel, reporter: StepReporter, grace_period: float
    ) -> None:
        self.document = document
        self.kernel = kernel
        self.reporter = reporter
        self.grace_period = grace_period
        self.running: tuple[str, NotebookNode] | None = None
        """The request being executed and its cell."""
        self.failure: str | None = None
        """The current cell's error, in words."""
        self.clear_on_next_output = False
        self.displays: dict[str, list[NotebookNode]] = {}
        """Outputs by display id, for `update_display_data`."""

    async def run(self) -> StepResult:
        try:
            return await self._run_cells()
        except OSError as error:
            return StepResult(False, f"cannot save {self.document.path}: {error.strerror or error}")

    async def _run_cells(self) -> StepResult:
        cells = self.document.notebook.cells
        for position, cell in enumerate(cells, start=1):
            if cell.cell_type != "code" or SKIP_TAG in cell.get("metadata", {}).get("tags", []):
                continue
            cell.outputs = []
            cell.execution_count = None
            try:
                if cell.source.strip():  # JupyterLab clears an empty cell without running it
                    await self._execute(cell, position)
                await self.document.save()
            except KernelDied as died:
                await self._drain()
                await self.document.save()
                return StepResult(
                    False, f"the kernel died while running cell {position} ({died.how})"
                )
            except asyncio.CancelledError:
                await asyncio.shield(self._stop())
                raise
            if self.failure:
                return StepResult(False, f"{self.failure} in cell {position}")
        return StepResult(True)

    async def _execute(self, cell: NotebookNode, position: int) -> None:
        client = self.kernel.client
        request = client.execute(cell.source, store_history=True, allow_stdin=False)
        self.running = (request, cell)
        await self._follow(request, cell)
        while True:
            reply = await self.kernel.unless_dead(client.get_shell_msg())
            if reply["parent_header"].get("msg_id") == request:
                break
        self.running = None
        content = reply["content"]
        if cell.execution_count is None:
            cell.execution_count = content.get("execution_count")
        if content.get("status") == "error" and not self.failure:
            self.failure = f"{content.get('ename')}: {content.get('evalue')}"
        elif content.get("status") == "aborted":
            self.failure = "the kernel aborted the execution"

    async def _follow(self, request: str, cell: NotebookNode) -> None:
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

    async def _stop(self) -> None:
        """After cancellation: interrupt, let the cell finish for a grace period, kill."""
        if self.running is not None and not self.kernel.exited.done():
            request, cell = self.running
            try:
                await self.kernel.interrupt()
                await asyncio.wait_for(self._follow(request, cell), self.grace_period)
            except (KernelDied, asyncio.TimeoutError, RuntimeError):
                pass
        await self.kernel.kill()
        await self.document.save()

    def _take(self, message: Mapping[str, Any], cell: NotebookNode) -> bool:
        """Apply one IOPub message to the cell; True once the execution is over."""
        kind = message["header"]["msg_type"]
        content = message["content"]
        if kind == "status":
            return bool(content.get("execution_state") == "idle")
        if kind == "execute_input":
            cell.execution_count = content.get("execution_count")
        elif kind == "clear_output":
            if content.get("wait"):
                self.clear_on_next_output = True
            else:
                cell.outputs.clear()
        elif kind == "update_display_data":
            for output in self.displays.get(_display_id(content) or "", []):
                output.data = content.get("data", {})
                output.metadata = content.get("metadata", {})
        elif kind in ("stream", "display_data", "execute_result", "error"):
            if self.clear_on_next_output:
                cell.outputs.clear()
                self.clear_on_next_output = False
            self._add_output(message, cell)
        return False

    def _add_output(self, message: Mapping[str, Any], cell: NotebookNode) -> None:
        content = message["content"]
        output = nbformat.v4.output_from_msg(message)  # type: ignore[no-untyped-call]
        if output.output_type == "stream":
            self.reporter.log("stderr" if content["name"] == "stderr" else "stdout", output.text)
            last = cell.outputs[-1] if cell.outputs else None
            if last is not None and last.output_type == "stream" and last.name == output.name:
                last.text = apply_carriage_returns(last.text + output.text)
                return
            output.text = apply_carriage_returns(output.text)
        elif output.output_type == "error":
            self.failure = self.failure or f"{content['ename']}: {content['evalue']}"
            traceback = strip_ansi("\n".join(content.get("traceback", [])))
            self.reporter.log("stderr", traceback + "\n")
        display_id = _display_id(content)
        if display_id:
            self.displays.setdefault(display_id, []).append(output)
        cell.outputs.append(output)


def _display_id(content: Mapping[str, Any]) -> str | None:
    transient = content.get("transient")
    display_id = transient.get("display_id") if isinstance(transient, Mapping) else None
    return display_id if isinstance(display_id, str) else None


def apply_carriage_returns(text: str) -> str:
    """Stream text as a terminal (and JupyterLab) shows it: a carriage return goes back to the
    start of the line, and what follows overwrites it. A trailing one is kept, so that the
    next piece of the stream overwrites the line too (progress bars)."""
    if "\r" not in text:
        return text
    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if "\r" not in line:
            continue
        shown = ""
        for piece in line.split("\r"):
            shown = piece + shown[len(piece) :]
        lines[index] = shown + ("\r" if line.endswith("\r") else "")
    return "\n".join(lines)
