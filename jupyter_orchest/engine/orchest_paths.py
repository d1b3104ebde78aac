"""Orchest's absolute paths, `/data` and `/project-dir`, for steps that run on this machine.

Where mount namespaces can be made (`executors.mount_namespace`), every step process started
here sees its run's data folder at `/data` and its project at `/project-dir`. Where they
cannot, steps run as they would without them, and a step whose file mentions either path is
refused before it runs, naming the lines: it would fail on a missing folder or, run as root,
write into the machine's own `/data`.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .model import StepTask

MENTION = re.compile(r"(?<![\w.~/-])/(?:data|project-dir)(?![\w.~-])")
"""`/data` or `/project-dir` as the start of a path: not `/home/me/data`, `/datasets`,
`https://host/data` nor `/data.csv`."""
COMMENT_STARTS = ("#", "//")
"""Lines that start with these (once indented) are comments in every language steps use."""
SHOWN_MENTIONS = 5
FIX = (
    "Read the folders from the variables ORCHEST_DATA_DIR and ORCHEST_PROJECT_DIR instead "
    '(e.g. os.environ["ORCHEST_DATA_DIR"]), or run the pipeline with the Docker backend.'
)


@dataclass(frozen=True)
class Mention:
    line: int
    """1-based, in the file or in the notebook's cell."""
    text: str
    cell: int | None = None
    """For notebooks: the 1-based number of the cell, counting every cell."""

    def __str__(self) -> str:
        where = f"cell {self.cell}, line {self.line}" if self.cell else f"line {self.line}"
        return f"{where}: {self.text.strip()}"


def mentions(file: Path) -> list[Mention]:
    """Where the step's file mentions /data or /project-dir: a notebook's code cells, a
    script's lines; comments aside. Nothing for a file that cannot be read (the step fails
    on that anyway)."""
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    if file.suffix.lower() != ".ipynb":
        return _mentions_in(text)
    try:
        cells = json.loads(text)["cells"]
    except (ValueError, TypeError, KeyError):
        return []
    return [
        Mention(mention.line, mention.text, number)
        for number, cell in enumerate(cells, start=1)
        if isinstance(cell, dict) and cell.get("cell_type") == "code"
        for mention in _mentions_in(_source(cell.get("source")))
    ]


def refusal(task: StepTask, reason: str) -> str | None:
    """The message refusing the step, if its file mentions /data or /project-dir; `reason`
    says why mount namespaces are unavailable."""
    found = mentions(task.file)
    if not found:
        return None
    name, project = task.file, task.project_dir
    if project is not None and name.is_relative_to(project):
        name = name.relative_to(project)
    lines = "\n".join(f"  {mention}" for mention in found[:SHOWN_MENTIONS])
    more = len(found) - SHOWN_MENTIONS
    if more > 0:
        lines += f"\n  and {more} more"
    return (
        f"{name} uses /data or /project-dir, which steps cannot see on this machine "
        f"(mount namespaces are not available: {reason}):\n{lines}\n{FIX} "
        "The step was not run, so nothing was written to this machine's /data."
    )


def _source(source: object) -> str:
    """A cell's source, kept as text or as a list of lines."""
    if isinstance(source, list):
        return "".join(line for line in source if isinstance(line, str))
    return source if isinstance(source, str) else ""


def _mentions_in(text: str) -> list[Mention]:
    return [
        Mention(number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if MENTION.search(line) and not line.lstrip().startswith(COMMENT_STARTS)
    ]
