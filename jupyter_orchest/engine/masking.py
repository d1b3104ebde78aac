"""Secret values kept out of what the server keeps and shows of a step: its log (on disk, in
the live events, in the cache), its execution record, and the outputs a run writes into its
notebook.

Each occurrence of a secret, in what a step prints, in its result's message and in its
notebook's outputs once it ends, becomes `***`. The secrets are the values of the user's
environment variables (and, of a value of several lines, each line) of at least
`MIN_SECRET_LENGTH` characters: shorter values would match ordinary words and numbers ("1",
"true", "prod") all over the log, so they are left as they are.

A step's output arrives in pieces, and a secret may be cut between two: the end of a piece
that could begin a secret is held back until the next piece (or the step's end) tells.
"""

import asyncio
import dataclasses
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..sdk.atomic import write_bytes_atomic
from .model import StepExecutor, StepReporter, StepResult, StepTask, Stream, executor_name

MASK = "***"
MIN_SECRET_LENGTH = 6


class SecretMask:
    """The secrets among `values` (see the module's docs), and their masking."""

    def __init__(self, values: Iterable[str]) -> None:
        secrets: set[str] = set()
        for value in values:
            lines = [line.strip() for line in value.splitlines()]
            for candidate in (value, *lines):
                if len(candidate.strip()) >= MIN_SECRET_LENGTH:
                    secrets.add(candidate)
        # Longest first: where two secrets start at one place, the longer one is masked.
        self.secrets = sorted(secrets, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, self.secrets))) if secrets else None
        self._longest = len(self.secrets[0]) if secrets else 0
        self._starts: dict[str, Any] = {}
        """The secrets as a tree of their characters, to find their starts cheaply."""
        for secret in self.secrets:
            node = self._starts
            for char in secret:
                node = node.setdefault(char, {})

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, text: str) -> str:
        """`text` with every secret in it masked."""
        # Looking for each secret is much faster than the pattern, which is for replacing.
        if self._pattern is None or not any(secret in text for secret in self.secrets):
            return text
        return self._pattern.sub(MASK, text)

    def unfinished(self, text: str) -> int:
        """How many characters at the end of `text` could be the start of a secret."""
        for start in range(max(0, len(text) - self._longest + 1), len(text)):
            node = self._starts
            for char in text[start:]:
                child = node.get(char)
                if child is None:
                    break
                node = child
            else:
                return len(text) - start
        return 0


class _MaskingReporter:
    """Passes a step's output on with its secrets masked, per stream (see the module's docs)."""

    def __init__(self, reporter: StepReporter, mask: SecretMask) -> None:
        self.reporter = reporter
        self.mask = mask
        self._held: dict[Stream, str] = {}

    def log(self, stream: Stream, text: str) -> None:
        masked = self.mask.text(self._held.pop(stream, "") + text)
        held = self.mask.unfinished(masked)
        if held:
            self._held[stream], masked = masked[-held:], masked[:-held]
        if masked:
            self.reporter.log(stream, masked)

    def flush(self) -> None:
        """The step ended: what was held back was no secret."""
        for stream, text in self._held.items():
            self.reporter.log(stream, text)
        self._held.clear()


class MaskingExecutor:
    """Runs steps with `inner`, masking `mask`'s secrets in what they print and in their
    results' messages."""

    def __init__(self, inner: StepExecutor, mask: SecretMask) -> None:
        self.inner = inner
        self.mask = mask

    @property
    def executor_name(self) -> str:
        return executor_name(self.inner)

    async def start(self) -> None:
        await self.inner.start()

    def expect(self, tasks: list[StepTask]) -> None:
        self.inner.expect(tasks)

    async def environment_identity(self, task: StepTask) -> str:
        return await self.inner.environment_identity(task)

    async def orchest_paths_unavailable(self, task: StepTask) -> str:
        return await self.inner.orchest_paths_unavailable(task)

    async def run_step(self, task: StepTask, reporter: StepReporter) -> StepResult:
        masking = _MaskingReporter(reporter, self.mask)
        try:
            result = await self.inner.run_step(task, masking)
        finally:
            masking.flush()
            if task.file.suffix.lower() == ".ipynb":
                await asyncio.to_thread(mask_notebook_outputs, task.file, self.mask)
        return dataclasses.replace(result, message=self.mask.text(result.message))

    async def shutdown(self) -> None:
        pass  # the inner executor is shared: whoever made it shuts it down


def mask_notebook_outputs(path: Path, mask: SecretMask) -> None:
    """Mask the secrets in the outputs of the notebook's cells (what they printed, showed
    and raised); the file is rewritten only if one was there."""
    from .executors import ipynb  # only for notebook steps

    try:
        notebook = ipynb.load(path)
    except ipynb.NotebookError:
        return  # the step failed on it, and said so
    changed = False
    for cell in notebook["cells"]:
        for output in cell.get("outputs") or []:
            changed |= _mask_output(output, mask)
    if changed:
        write_bytes_atomic(str(path), ipynb.dumps(notebook).encode("utf-8"))


def _mask_output(output: dict[str, Any], mask: SecretMask) -> bool:
    before = repr(output)
    if "text" in output:
        output["text"] = _masked_lines(output["text"], mask)
    if isinstance(output.get("evalue"), str):
        output["evalue"] = mask.text(output["evalue"])
    if isinstance(output.get("traceback"), list):
        output["traceback"] = [mask.text(str(line)) for line in output["traceback"]]
    data = output.get("data")
    if isinstance(data, dict):
        for kind, value in data.items():
            if kind.startswith("text/") or kind.endswith(("json", "javascript", "+xml")):
                data[kind] = _masked_lines(value, mask)
    return repr(output) != before


def _masked_lines(value: object, mask: SecretMask) -> object:
    """A text kept as nbformat keeps it (a string, or a list of lines), masked whole."""
    if isinstance(value, str):
        return mask.text(value)
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return mask.text("".join(value)).splitlines(keepends=True)
    return value
