"""Helpers for the executor tests: a recording reporter, notebooks on disk, process checks."""

import asyncio
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_orchest.engine.model import StepTask, Stream


@dataclass
class Recorder:
    """A StepReporter that keeps what it is told, with the time it was told."""

    lines: list[tuple[float, Stream, str]] = field(default_factory=list)

    def log(self, stream: Stream, text: str) -> None:
        self.lines.append((time.monotonic(), stream, text))

    def text(self, stream: Stream) -> str:
        return "".join(text for _, name, text in self.lines if name == stream)

    async def wait_for(self, needle: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text("stdout"):
            assert time.monotonic() < deadline, f"{needle!r} never printed"
            await asyncio.sleep(0.02)


Cell = str | tuple[str, list[str]]
"""A code cell's source, or (source, tags)."""


def write_notebook(
    path: Path, cells: Sequence[Cell], metadata: dict[str, Any] | None = None
) -> nbformat.NotebookNode:
    notebook: nbformat.NotebookNode = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    notebook.metadata = (
        metadata
        if metadata is not None
        else {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        }
    )
    for cell in cells:
        source, tags = (cell, []) if isinstance(cell, str) else cell
        node = nbformat.v4.new_code_cell(source)  # type: ignore[no-untyped-call]
        if tags:
            node.metadata["tags"] = tags
        notebook.cells.append(node)
    path.write_text(nbformat.writes(notebook), encoding="utf-8")  # type: ignore[no-untyped-call]
    return notebook


def read_notebook(path: Path) -> dict[str, Any]:
    """The notebook as JSON, after checking that it is a valid notebook."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    nbformat.validate(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))  # type: ignore[no-untyped-call]
    return data


def stdout_of(cell: dict[str, Any]) -> str:
    return "".join(
        "".join(output["text"])
        for output in cell["outputs"]
        if output["output_type"] == "stream" and output["name"] == "stdout"
    )


def is_running(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


async def wait_gone(pids: Sequence[int], timeout: float = 10) -> list[int]:
    """Wait until none of the processes runs; return those still running at the timeout."""
    deadline = time.monotonic() + timeout
    while (alive := [pid for pid in pids if is_running(pid)]) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return alive


def descendants(ancestor: int | None = None) -> list[int]:
    """The processes started by this one (or `ancestor`), their children, and so on."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, pending = [], list(children.get(ancestor or os.getpid(), []))
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


class Kit:
    """The helpers above, for tests (which cannot import this module by name)."""

    Recorder = Recorder
    write_notebook = staticmethod(write_notebook)
    read_notebook = staticmethod(read_notebook)
    stdout_of = staticmethod(stdout_of)
    is_running = staticmethod(is_running)
    wait_gone = staticmethod(wait_gone)
    descendants = staticmethod(descendants)


@pytest.fixture
def kit() -> type[Kit]:
    return Kit


@pytest.fixture
def make_task(tmp_path: Path) -> Callable[..., StepTask]:
    counter = iter(range(1_000_000))

    def make(
        file: Path, kernel_name: str | None = None, env: dict[str, str] | None = None
    ) -> StepTask:
        number = next(counter)
        return StepTask(
            run_id="run-1",
            step_uuid=f"step-{number}",
            title=f"Step {number}",
            file=file,
            kernel_name=kernel_name,
            env=env or {},
        )

    return make


@pytest.fixture(autouse=True)
def no_stray_processes() -> Any:
    """Every test leaves no process of its own behind (kernels, fork servers, scripts)."""
    before = set(descendants())
    yield
    stray = [pid for pid in descendants() if pid not in before and is_running(pid)]
    assert not stray, f"processes left running: {stray}"
