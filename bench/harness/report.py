"""Results: kept as JSON, merged run after run, and rendered as Markdown for the README."""

import json
import os
import platform
import statistics
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .envs import Install

OURS = "jupyter-orchest"
START_MARKER = "<!-- bench:results:start -->"
END_MARKER = "<!-- bench:results:end -->"

# (workload, competitor, the ratio of the competitor's median to ours that we aim for)
TARGETS = (("chain", "papermill", 3.0), ("fanout", "ploomber-parallel", 3.0))


@dataclass
class Row:
    workload: str
    tool: str
    label: str
    status: str
    """"ok", "failed" or "not available"."""
    seconds: list[float] = field(default_factory=list)
    other_load: list[float] = field(default_factory=list)
    """Per timed run: cores kept busy by other processes meanwhile (noise, when high)."""
    note: str = ""
    version: str = ""
    """What exactly ran: a package version, or for jupyter-orchest a commit."""
    measured: str = ""
    """The day it was measured, so that merged results say how old each row is."""

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.status == "ok" and self.seconds else None

    @property
    def minimum(self) -> float | None:
        return min(self.seconds) if self.status == "ok" and self.seconds else None

    @property
    def median_other_load(self) -> float | None:
        return statistics.median(self.other_load) if self.other_load else None


@dataclass
class Results:
    machine: str = ""
    workloads: dict[str, str] = field(default_factory=dict)
    """Workload name to its description."""
    installs: dict[str, Install] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> "Results":
        if not path.is_file():
            return cls()
        data = json.loads(path.read_text())
        return cls(
            machine=data.get("machine", ""),
            workloads=data.get("workloads", {}),
            installs={name: Install(**i) for name, i in data.get("installs", {}).items()},
            rows=[Row(**row) for row in data.get("rows", [])],
        )

    def save(self, path: Path) -> None:
        data = {
            "machine": self.machine,
            "workloads": self.workloads,
            "installs": {name: asdict(install) for name, install in self.installs.items()},
            "rows": [asdict(row) for row in self.rows],
        }
        path.write_text(json.dumps(data, indent=2) + "\n")

    def merge(self, newer: "Results") -> None:
        """Take `newer`'s rows and installs, keeping ours for whatever it did not measure."""
        self.machine = newer.machine or self.machine
        self.workloads.update(newer.workloads)
        self.installs.update(newer.installs)
        replaced = {(row.workload, row.tool) for row in newer.rows}
        kept = [row for row in self.rows if (row.workload, row.tool) not in replaced]
        self.rows = kept + newer.rows

    def row(self, workload: str, tool: str) -> Row | None:
        return next((r for r in self.rows if r.workload == workload and r.tool == tool), None)

    def ratio(self, row: Row) -> float | None:
        """The row's median over jupyter-orchest's on the same workload."""
        ours = self.row(row.workload, OURS)
        mine, theirs = row.median, ours.median if ours else None
        if mine is None or theirs is None or theirs <= 0:
            return None
        return mine / theirs


def describe_machine() -> str:
    """The machine in general terms: cores, memory, system, Python."""
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        kib = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        memory = f", {round(kib / 2**20)} GiB of memory"
    python = ".".join(map(str, sys.version_info[:2]))
    return f"{os.cpu_count()} cores{memory}, {platform.system()}, Python {python}"


def _seconds(value: float | None) -> str:
    return f"{value:.1f} s" if value is not None else "-"


def _ratio_text(results: Results, row: Row) -> str:
    if row.tool == OURS:
        return "1.0x" if row.median is not None else "-"
    ratio = results.ratio(row)
    return f"{ratio:.1f}x" if ratio is not None else "n/a"


def render_tables(results: Results, workload_order: list[str], tool_order: list[str]) -> str:
    """Markdown tables: one per workload, then the targets, then the installs."""
    lines: list[str] = [f"Measured on {results.machine}." if results.machine else "", ""]
    rank = {name: index for index, name in enumerate(tool_order)}
    for workload in workload_order:
        rows = sorted(
            (row for row in results.rows if row.workload == workload),
            key=lambda row: rank.get(row.tool, len(rank)),
        )
        if not rows:
            continue
        lines += [
            f"**{workload}**: {results.workloads.get(workload, '')}",
            "",
            f"| tool | median | min | runs | median / {OURS} | other load | version | measured |",
            "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
        ]
        for row in rows:
            if row.status == "ok":
                median, minimum = _seconds(row.median), _seconds(row.minimum)
            else:
                median, minimum = row.status, ""
            runs = str(len(row.seconds)) if row.status == "ok" else "-"
            load = row.median_other_load
            load_text = f"{load:.2f}" if load is not None else "-"
            lines.append(
                f"| {row.label} | {median} | {minimum} | {runs} | "
                f"{_ratio_text(results, row)} | {load_text} | {row.version} | {row.measured} |"
            )
        notes = [row for row in rows if row.note]
        if notes:
            lines.append("")
            lines += [f"- {row.label}: {row.note}" for row in notes]
        lines.append("")
    lines += ["**Targets**", "", "| target | now |", "| --- | --- |"]
    for workload, competitor, needed in TARGETS:
        target = results.row(workload, competitor)
        ratio = results.ratio(target) if target else None
        if ratio is None:
            now = "not measured yet"
        else:
            now = f"{ratio:.1f}x, {'met' if ratio >= needed else 'not met'}"
        label = target.label if target else competitor
        lines.append(f"| {workload}: {label} / {OURS} ≥ {needed:.0f}x | {now} |")
    lines.append("")
    if results.installs:
        lines += [
            "**Competitors' environments** (made by the benchmark with uv)",
            "",
            "| environment | packages | size on disk | install time | versions |",
            "| --- | ---: | ---: | ---: | --- |",
        ]
        for name, install in sorted(results.installs.items()):
            if not install.ok:
                lines.append(f"| {name} | install failed | | | |")
                continue
            versions = ", ".join(f"{package} {v}" for package, v in install.versions.items())
            lines.append(
                f"| {name} | {install.packages} | {install.size_bytes / 2**20:.0f} MiB | "
                f"{install.seconds:.0f} s | {versions} |"
            )
        lines.append("")
    return "\n".join(lines).strip() + "\n"


def replace_section(
    readme: str, section: str, start: str = START_MARKER, end: str = END_MARKER
) -> str:
    """`readme` with the text between the markers replaced by `section` (appended if absent)."""
    block = f"{start}\n{section}{end}"
    if start in readme and end in readme:
        before = readme.split(start, 1)[0]
        after = readme.split(end, 1)[1]
        return before + block + after
    return readme.rstrip("\n") + "\n\n" + block + "\n"
