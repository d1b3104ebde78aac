"""The benchmark's workloads, described once and written out by each tool's adapter.

A workload is a DAG of steps. Each step is a notebook, a Python script or a shell script, given
as code; the adapters in `tools.py` turn the same steps into each tool's own format, adding only
what that tool requires (Ploomber's `parameters` cell, for example).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

StepKind = Literal["notebook", "python", "shell"]

MARKER_DIR = "done"
"""Every generated notebook writes `done/<step name>` last, holding its kernel's process id, so a
run can be checked step by step, and so can the promise that each step had a kernel of its own."""


@dataclass(frozen=True)
class Step:
    name: str
    """A short identifier, also the file's stem: usable as a task name in every tool."""
    kind: StepKind
    cells: tuple[str, ...]
    """Code cells for a notebook; a single element, the whole file, for a script."""
    parents: tuple[str, ...] = ()
    output: str | None = None
    """For shell steps: the file the script writes (Ploomber needs it declared as a product)."""

    @property
    def file_name(self) -> str:
        suffix = {"notebook": ".ipynb", "python": ".py", "shell": ".sh"}[self.kind]
        return self.name + suffix


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    steps: tuple[Step, ...]
    expected_files: tuple[str, ...]
    """Files (relative to the run folder) that a successful run of the generic steps leaves."""
    max_steps_parallelism: int = 0
    """For jupyter-orchest's pipeline settings; 0 leaves the engine's default, as Orchest does."""
    orchest_project: Path | None = None
    """For jupyter-orchest: an existing project to copy instead of the generic steps."""

    def step(self, name: str) -> Step:
        return next(step for step in self.steps if step.name == name)

    def topological_order(self) -> list[Step]:
        """Steps ordered so that every step comes after its parents (Kahn's algorithm)."""
        remaining = {step.name: set(step.parents) for step in self.steps}
        order: list[Step] = []
        while remaining:
            ready = sorted(name for name, parents in remaining.items() if not parents)
            if not ready:
                raise ValueError(f"workload {self.name} has a cycle")
            for name in ready:
                del remaining[name]
                order.append(self.step(name))
            for parents in remaining.values():
                parents.difference_update(ready)
        return order


def _marker_cell(name: str) -> str:
    return (
        "import os\n"
        "from pathlib import Path\n"
        f'Path("{MARKER_DIR}").mkdir(exist_ok=True)\n'
        f'Path("{MARKER_DIR}/{name}").write_text(str(os.getpid()))'
    )


def _trivial_notebook(name: str, parents: tuple[str, ...], extra: tuple[str, ...] = ()) -> Step:
    cells = ("x = 1", f'print("{name}: x =", x)', *extra, _marker_cell(name))
    return Step(name=name, kind="notebook", cells=cells, parents=parents)


def chain(length: int = 10) -> Workload:
    names = [f"step{index:02d}" for index in range(1, length + 1)]
    steps = tuple(
        _trivial_notebook(name, parents=(names[index - 1],) if index else ())
        for index, name in enumerate(names)
    )
    return Workload(
        name="chain",
        description=f"{length} trivial notebooks, each depending on the previous one",
        steps=steps,
        expected_files=tuple(f"{MARKER_DIR}/{name}" for name in names),
    )


def _script_marker(name: str) -> str:
    """As `_marker_cell`, naming the host too: scripts in containers of their own (the Docker
    backend's) can have the same process id."""
    return (
        "import os, socket\n"
        "from pathlib import Path\n"
        f'Path("{MARKER_DIR}").mkdir(exist_ok=True)\n'
        f'Path("{MARKER_DIR}/{name}").write_text(f"{{socket.gethostname()}}:{{os.getpid()}}")\n'
    )


def script_chain(length: int = 10) -> Workload:
    """As `chain`, with Python scripts instead of notebooks."""
    names = [f"script{index:02d}" for index in range(1, length + 1)]
    steps = tuple(
        Step(
            name=name,
            kind="python",
            cells=(f'x = 1\nprint("{name}: x =", x)\n{_script_marker(name)}',),
            parents=(names[index - 1],) if index else (),
        )
        for index, name in enumerate(names)
    )
    return Workload(
        name="script-chain",
        description=f"{length} trivial Python scripts, each depending on the previous one",
        steps=steps,
        expected_files=tuple(f"{MARKER_DIR}/{name}" for name in names),
    )


def fanout(width: int = 8, sleep_seconds: int = 2) -> Workload:
    sleepers = [f"sleep{index}" for index in range(1, width + 1)]
    sleep_cell = f"import time\ntime.sleep({sleep_seconds})"
    steps = (
        _trivial_notebook("root", parents=()),
        *(_trivial_notebook(name, parents=("root",), extra=(sleep_cell,)) for name in sleepers),
        _trivial_notebook("sink", parents=tuple(sleepers)),
    )
    return Workload(
        name="fanout",
        description=(
            f"a root, {width} notebooks each sleeping {sleep_seconds} s, and a sink after all"
        ),
        steps=steps,
        expected_files=tuple(f"{MARKER_DIR}/{step.name}" for step in steps),
        max_steps_parallelism=width,
    )


# The quickstart example's steps, rewritten to pass data through JSON files, since the other
# tools have no equivalent of Orchest's SDK. Parameters are constants, as in the example.
_GET_DATA = (
    "import json\nimport random",
    "n_rows = 200\nseed = 42\nrandom.seed(seed)",
    'rows = [\n    {"sensor": f"s{i % 4}", "value": round(random.gauss(20, 5), 2)}\n'
    "    for i in range(n_rows)\n]\nrows[:3]",
    'with open("measurements.json", "w") as f:\n    json.dump(rows, f)',
)
_CLEAN = (
    '"""Drops measurements outside the plausible range and passes the rest on."""\n'
    "\n"
    "import json\n"
    "\n"
    "low, high = 5, 35\n"
    'with open("measurements.json") as f:\n'
    "    rows = json.load(f)\n"
    'kept = [row for row in rows if low <= row["value"] <= high]\n'
    'print(f"kept {len(kept)} of {len(rows)} measurements in [{low}, {high}]")\n'
    'with open("clean_measurements.json", "w") as f:\n'
    "    json.dump(kept, f)\n"
)
_SUMMARIZE = (
    "import json\nfrom collections import defaultdict\nfrom statistics import mean",
    'with open("clean_measurements.json") as f:\n    rows = json.load(f)\nlen(rows)',
    "by_sensor = defaultdict(list)\nfor row in rows:\n"
    '    by_sensor[row["sensor"]].append(row["value"])\n'
    "summary = {sensor: round(mean(values), 2) for sensor, values in sorted(by_sensor.items())}\n"
    "summary",
    'with open("summary.json", "w") as f:\n    json.dump(summary, f)',
)
REPORT_OUTPUT = "report.txt"
_REPORT = (
    "#!/usr/bin/env bash\n"
    "# A shell step: it runs after the summary and records when the pipeline last finished.\n"
    "set -euo pipefail\n"
    'echo "quickstart pipeline finished at $(date -u +%Y-%m-%dT%H:%M:%SZ)" | tee '
    + REPORT_OUTPUT
    + "\n"
)


def quickstart(orchest_project: Path) -> Workload:
    steps = (
        Step(name="get_data", kind="notebook", cells=_GET_DATA),
        Step(name="clean", kind="python", cells=(_CLEAN,), parents=("get_data",)),
        Step(name="summarize", kind="notebook", cells=_SUMMARIZE, parents=("clean",)),
        Step(
            name="report",
            kind="shell",
            cells=(_REPORT,),
            parents=("summarize",),
            output=REPORT_OUTPUT,
        ),
    )
    return Workload(
        name="quickstart",
        description=(
            "the quickstart example: a notebook making data, a script cleaning it, "
            "a notebook summarizing, a shell step"
        ),
        steps=steps,
        expected_files=(
            "measurements.json",
            "clean_measurements.json",
            "summary.json",
            REPORT_OUTPUT,
        ),
        orchest_project=orchest_project,
    )


def notebook_json(cells: list[str], parameters: str | None = None) -> dict[str, object]:
    """A minimal nbformat 4 notebook of code cells, kernel `python3` (standard library only).

    `parameters`, when given, becomes a first cell tagged `parameters`, as papermill and
    Ploomber expect."""
    tagged = [(parameters, ["parameters"])] if parameters is not None else []
    untagged: list[tuple[str, list[str]]] = [(source, []) for source in cells]
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell-{index}",
                "metadata": {"tags": tags} if tags else {},
                "outputs": [],
                "source": source,
            }
            for index, (source, tags) in enumerate(tagged + untagged)
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
