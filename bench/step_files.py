"""What recording and restoring the files steps write costs, beside the tools one would use.

    python bench/step_files.py [--files N] [--repeat N] [--no-write]

Makes a project folder of 1,000 files and a data folder of N files (10,000 by default, in
folders of 100, 1 KiB each), then measures:

- **scan**: looking for the files a step changed, after it executed, when none changed (what
  every executed step pays), beside GNU `find -newer` (a process of its own) and a plain
  `os.walk` with a `stat` per file in Python over the same folders;
- **per step**: a chain of trivial script steps run through the engine with the cache on,
  every step executed (forced), with that data folder and with an empty one: the difference
  per step is what the scan costs in a run;
- **keep**: a step that wrote 10 files of 10 MiB, copied into the cache, beside `cp` of them;
- **check on a hit**: the same files present and unchanged (their state matches the record),
  and **restore**: all of them missing, written back, beside `cp`.

Writes bench/step_files_results.json and a section of bench/README.md.
"""

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from docker_overhead import BENCH_DIR, publish

from jupyter_orchest.engine.cache import StepCache
from jupyter_orchest.engine.caching import Caching
from jupyter_orchest.engine.events import NoOpObserver
from jupyter_orchest.engine.executors import LocalExecutor
from jupyter_orchest.engine.launch import RunLayout, prepare_run
from jupyter_orchest.engine.output_patterns import NO_PATTERNS
from jupyter_orchest.engine.planning import RunType, plan_run
from jupyter_orchest.engine.step_files import StepFiles
from jupyter_orchest.engine.write_windows import WriteWindows
from jupyter_orchest.engine.written_files import FileRoots, scan_changes
from jupyter_orchest.pipeline import dump_definition, parse_definition

RESULTS = BENCH_DIR / "step_files_results.json"
START = "<!-- bench:step-files:start -->"
END = "<!-- bench:step-files:end -->"
PROJECT_FILES = 1000
CHAIN = 5
WRITTEN_FILES, WRITTEN_BYTES = 10, 10 * 2**20


@dataclass
class Row:
    what: str
    tool: str
    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000, help="files in the data folder")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per row")
    parser.add_argument("--no-write", action="store_true", help="print the results only")
    return parser.parse_args(argv)


def fill(folder: Path, count: int) -> None:
    for index in range(count):
        sub = folder / f"part-{index // 100:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"file-{index:05d}.bin").write_bytes(os.urandom(1024))


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    action()  # warms the page cache and the imports, untimed
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        seconds.append(round(time.perf_counter() - start, 5))
    return seconds


def python_walk(roots: list[Path], since_ns: int) -> list[str]:
    found = []
    for root in roots:
        for folder, _, names in os.walk(root):
            for name in names:
                path = os.path.join(folder, name)
                if os.lstat(path).st_ctime_ns >= since_ns:
                    found.append(path)
    return found


def measure_scan(work: Path, files: int, repeat: int) -> list[Row]:
    project, data = work / "project", work / "project" / "data"
    fill(project / "src", PROJECT_FILES)
    fill(data, files)
    marker = work / "marker"
    marker.touch()
    since = marker.stat().st_ctime_ns + 1
    roots = FileRoots.of(project, data)
    what = f"scan ({PROJECT_FILES:,} + {files:,} files)"
    find = ["find", str(project), "-type", "f", "-newer", str(marker)]
    return [
        Row(
            what,
            "jupyter-orchest",
            timed(lambda: scan_changes(roots, since, since, NO_PATTERNS), repeat),
        ),
        Row(
            what,
            "find -newer",
            timed(lambda: subprocess.run(find, check=True, stdout=subprocess.DEVNULL), repeat),
        ),
        Row(what, "os.walk + stat", timed(lambda: python_walk([project], since), repeat)),
    ]


def write_chain(project: Path) -> Path:
    (project / ".orchest").mkdir(parents=True, exist_ok=True)
    steps = {}
    for index in range(CHAIN):
        uuid = f"s{index}"
        (project / f"{uuid}.py").write_text("print('step')\n")
        steps[uuid] = {
            "uuid": uuid,
            "title": uuid,
            "file_path": f"{uuid}.py",
            "incoming_connections": [f"s{index - 1}"] if index else [],
            "environment": "",
        }
    pipeline = project / "chain.orchest"
    definition = {
        "name": "chain",
        "uuid": "chain",
        "version": "1.0.0",
        "settings": {},
        "parameters": {},
        "services": {},
        "steps": steps,
    }
    pipeline.write_text(dump_definition(definition))
    return pipeline


async def run_chain(pipeline: Path, data: Path, executor: LocalExecutor, caching: Caching) -> None:
    definition = parse_definition(pipeline.read_text())
    run_id = f"run-{time.monotonic_ns()}"
    runner = prepare_run(
        definition=definition,
        plan=plan_run(definition, pipeline, RunType.ALL),
        layout=RunLayout.interactive(pipeline.parent, pipeline, "chain", run_id, data),
        executor=executor,
        observer=NoOpObserver(),
        parallelism=1,
        caching=caching,
        force=True,
    )
    await runner.run()


def measure_per_step(work: Path, files: int, repeat: int) -> list[Row]:
    rows = []
    for label, count in (("empty data folder", 0), (f"{files:,} files in it", files)):
        project = work / f"chain-{count}"
        pipeline = write_chain(project)
        fill(project / "data", count)
        caching = Caching(StepCache(work / f"cache-{count}", 1 << 34))
        seconds = asyncio.run(chain_runs(pipeline, caching, repeat))
        what = f"a script step, run by the engine ({label})"
        rows.append(Row(what, "jupyter-orchest", seconds))
    return rows


async def chain_runs(pipeline: Path, caching: Caching, repeat: int) -> list[float]:
    """Seconds per step of each forced run of the chain, after an untimed one."""
    executor = LocalExecutor(grace_period=1.0)
    await executor.start()
    try:
        seconds = []
        for index in range(repeat + 1):
            start = time.perf_counter()
            await run_chain(pipeline, pipeline.parent / "data", executor, caching)
            if index:
                seconds.append(round((time.perf_counter() - start) / CHAIN, 5))
        return seconds
    finally:
        await executor.shutdown()


def measure_keep_and_restore(work: Path, repeat: int) -> list[Row]:
    project = work / "keep"
    written = project / "models"
    written.mkdir(parents=True)
    cache = StepCache(work / "keep-cache", 1 << 34)
    roots = FileRoots.of(project, project / "data")
    windows = WriteWindows()
    files = StepFiles(cache, windows, roots, "bench")
    start = time.time_ns()
    for index in range(WRITTEN_FILES):
        (written / f"part-{index}.bin").write_bytes(os.urandom(WRITTEN_BYTES))

    def keep() -> object:
        window = windows.open("write", "bench", (roots.project, roots.data), NO_PATTERNS)
        window.start_ns = start
        windows.close(window)
        try:
            return files.keep(window)
        finally:
            windows.release(window)
            cache.clear()  # so that each keep copies anew

    copy_target = work / "cp-target"

    def cp() -> object:
        shutil.rmtree(copy_target, ignore_errors=True)
        return subprocess.run(["cp", "-r", str(written), str(copy_target)], check=True)

    what = f"{WRITTEN_FILES} files of {WRITTEN_BYTES // 2**20} MiB"
    rows = [
        Row(f"keep {what}", "jupyter-orchest", timed(keep, repeat)),
        Row(f"keep {what}", "cp -r", timed(cp, repeat)),
    ]
    # An entry of those files, to check and to restore.
    window = windows.open("write", "bench", (roots.project, roots.data), NO_PATTERNS)
    window.start_ns = start
    windows.close(window)
    kept = files.keep(window)
    windows.release(window)
    entry = cache.store(
        key="k",
        static_key="s",
        step_uuid="write",
        run_id="bench",
        files={},
        details={"files": kept.details},
        copies=kept.stored,
    )

    def restore() -> object:
        shutil.rmtree(written, ignore_errors=True)
        return files.restore(files.plan(entry))

    rows.append(
        Row(f"check {what}, unchanged", "jupyter-orchest", timed(lambda: files.plan(entry), repeat))
    )
    rows.append(Row(f"restore {what}", "jupyter-orchest", timed(restore, repeat)))
    rows.append(Row(f"restore {what}", "cp -r", timed(cp, repeat)))
    return rows


def render(rows: list[Row], machine: str, measured: str) -> str:
    lines = [
        f"Measured on {machine}, {measured}; medians of {len(rows[0].seconds)} runs each.",
        "",
        "| what | jupyter-orchest | beside | its time | jupyter-orchest / it |",
        "| --- | ---: | --- | ---: | ---: |",
    ]
    ours = {row.what: row for row in rows if row.tool == "jupyter-orchest"}
    others = [row for row in rows if row.tool != "jupyter-orchest"]
    for what, row in ours.items():
        beside = [other for other in others if other.what == what]
        if not beside:
            lines.append(f"| {what} | {_ms(row.median)} | | | |")
        for other in beside:
            ratio = f"{row.median / other.median:.2f}x"
            lines.append(
                f"| {what} | {_ms(row.median)} | {other.tool} | {_ms(other.median)} | {ratio} |"
            )
    return "\n".join(lines) + "\n"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-step-files-") as folder:
        work = Path(folder)
        rows = measure_scan(work, args.files, args.repeat)
        rows += measure_per_step(work, args.files, args.repeat)
        rows += measure_keep_and_restore(work, args.repeat)
    publish(rows, render, RESULTS, (START, END), write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
