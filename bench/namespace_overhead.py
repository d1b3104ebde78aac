"""What a step's mount namespace (its data folder at /data, its project at /project-dir)
costs at its start, beside the same start without one.

    python bench/namespace_overhead.py [--repeat N] [--resident MB] [--no-write]

Measures, going round plain and namespaced starts:

- a script step (an empty bash script) through the local executor, start to end, started by
  the executor's launcher (as in a server) or by a command that enters the namespace (as on
  Ray workers, whose executors run one step each);
- a notebook kernel forked by the fork server, until it answers;
- a notebook kernel started by jupyter_client (as on Ray workers), until it answers;
- entering the namespace alone, in a freshly forked single-threaded process.

Nothing forks this process for a namespaced start (scripts go through the launcher, kernels
through the fork server or a command that enters the namespace first), so its size should
not matter: to show that, it holds `--resident` MB first, as much as a Jupyter server. Writes
bench/namespace_results.json and a section of bench/README.md.
"""

import argparse
import asyncio
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness import report
from jupyter_client.kernelspec import KernelSpecManager

from jupyter_orchest.engine.executors import LocalExecutor, mount_namespace
from jupyter_orchest.engine.executors.forkserver import ForkServer, fork_python
from jupyter_orchest.engine.executors.kernels import (
    Kernel,
    KernelKey,
    client_context,
    start_managed_kernel,
)
from jupyter_orchest.engine.executors.orchest_mounts import OrchestMounts
from jupyter_orchest.engine.model import StepTask, Stream

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "namespace_results.json"
START = "<!-- bench:mount-namespace:start -->"
END = "<!-- bench:mount-namespace:end -->"
TARGET_MS = 20.0
"""The most a namespace may add to a step's start."""

ENTER_ALONE = """\
import os, sys, time
sys.path.insert(0, sys.argv[1])
import mount_namespace
for _ in range(int(sys.argv[4])):
    read, write = os.pipe()
    if os.fork() == 0:
        began = time.perf_counter()
        mount_namespace.enter(sys.argv[2], sys.argv[3])
        os.write(write, str(time.perf_counter() - began).encode())
        os._exit(0)
    os.close(write)
    print(float(os.read(read, 64)) * 1000)
    os.close(read)
    os.wait()
"""


@dataclass
class Row:
    start: str
    plain: list[float] = field(default_factory=list)
    """Milliseconds, one per round; empty where there is no plain counterpart."""
    namespace: list[float] = field(default_factory=list)


class Quiet:
    def log(self, stream: Stream, text: str) -> None:
        pass


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


async def script_steps(row: Row, folder: Path, repeat: int, launcher: bool) -> None:
    """With `launcher`, as a server's executors start scripts; without, as on Ray workers."""
    (folder / "empty.sh").write_text("")
    script = folder / "empty.sh"
    task = StepTask(
        "bench", "script", "script", script, None, project_dir=folder, data_dir=folder / "data"
    )
    executors = {
        "plain": LocalExecutor(pool_size=0, standby_kernels=0, mount_orchest_paths=False),
        "namespace": LocalExecutor(pool_size=0, standby_kernels=0, script_launcher=launcher),
    }
    for executor in executors.values():
        await executor.start()
        await executor.run_step(task, Quiet())  # untimed: warms what is cached
    try:
        for _ in range(repeat):
            for kind, executor in executors.items():
                began = time.perf_counter()
                result = await executor.run_step(task, Quiet())
                getattr(row, kind).append((time.perf_counter() - began) * 1000)
                assert result.succeeded, result.message
    finally:
        for executor in executors.values():
            await executor.shutdown()


async def kernel_starts(
    row: Row, repeat: int, start: Callable[[KernelKey], Awaitable[Kernel]], mounts: OrchestMounts
) -> None:
    keys = {"plain": KernelKey("python3"), "namespace": KernelKey("python3", namespace=mounts)}
    for index in range(repeat + 1):  # the first round is untimed
        for kind, key in keys.items():
            began = time.perf_counter()
            kernel = await start(key)
            elapsed = (time.perf_counter() - began) * 1000
            await kernel.kill()
            if index:
                getattr(row, kind).append(elapsed)


def entering_alone(row: Row, mounts: OrchestMounts, repeat: int) -> None:
    folder = str(Path(mount_namespace.__file__).parent)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            ENTER_ALONE,
            folder,
            mounts.data_dir,
            str(mounts.project_dir),
            str(repeat),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    row.namespace = [float(line) for line in done.stdout.split()]


async def measure(args: argparse.Namespace) -> list[Row]:
    problem = mount_namespace.unavailable()
    if problem:
        raise SystemExit(f"mount namespaces are not available here: {problem}")
    resident = bytearray(args.resident * 2**20)  # touched: each page is really there
    for offset in range(0, len(resident), 4096):
        resident[offset] = 1
    with tempfile.TemporaryDirectory(prefix="orchest-bench-") as name:
        folder = Path(name)
        (folder / "data").mkdir()
        mounts = OrchestMounts(str(folder / "data"), str(folder))
        rows = [
            Row("script step (an empty bash script), start to end"),
            Row("script step, started by a command entering the namespace (Ray workers)"),
            Row("notebook kernel forked by the fork server, until ready"),
            Row("notebook kernel started by jupyter_client (as on Ray workers), until ready"),
            Row("entering the namespace alone, in a fresh fork"),
        ]
        await script_steps(rows[0], folder, args.repeat, launcher=True)
        await script_steps(rows[1], folder, args.repeat, launcher=False)
        specs = KernelSpecManager()
        spec = specs.get_kernel_spec("python3")
        context = client_context()
        sockets = iter(folder / f"kernel-{number}" for number in range(10**6))
        env = dict(os.environ)
        python = fork_python(spec)
        assert python is not None, "the python3 kernelspec cannot be forked"
        server = ForkServer(python, folder)
        await server.start(60)
        try:
            await kernel_starts(
                rows[2],
                args.repeat,
                lambda key: server.launch(key, spec, folder, env, 60, 3, context, next(sockets)),
                mounts,
            )
        finally:
            await server.close()
        await kernel_starts(
            rows[3],
            args.repeat,
            lambda key: start_managed_kernel(
                key, specs, folder, env, 60, 3, context, next(sockets)
            ),
            mounts,
        )
        context.destroy(linger=0)
        entering_alone(rows[4], mounts, args.repeat)
    del resident
    return rows


def render(rows: list[Row], machine: str, measured: str, resident: int, load: float) -> str:
    """A Markdown table: medians plain and with a namespace, and what the namespace adds,
    as medians and as the best of each (least disturbed by other work on the machine)."""
    lines = [
        f"Measured on {machine}, {measured}, from a process holding {resident} MB, while other "
        f"work kept the machine's load average at {load:.1f}; {len(rows[0].namespace)} starts "
        f"of each kind, in milliseconds. Target: a namespace adds less than {TARGET_MS:.0f} ms "
        "to a step's start.",
        "",
        "| start | plain | with its namespace | the namespace adds | best plain | best with it |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        plain, namespaced = median(row.plain), statistics.median(row.namespace)
        added = namespaced - (plain or 0.0)
        best_plain = f"{min(row.plain):.1f}" if row.plain else "-"
        lines.append(
            f"| {row.start} | {'-' if plain is None else f'{plain:.1f}'} | {namespaced:.1f} | "
            f"{added:+.1f} | {best_plain} | {min(row.namespace):.1f} |"
        )
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed starts per row and kind")
    parser.add_argument(
        "--resident", type=int, default=250, help="MB this process holds, as a server does"
    )
    parser.add_argument("--no-write", action="store_true", help="print the results only")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows = asyncio.run(measure(args))
    load = os.getloadavg()[1]  # over the last 5 minutes: about the measurement's time
    machine = report.describe_machine()
    measured = datetime.date.today().isoformat()
    table = render(rows, machine, measured, args.resident, load)
    print("\n" + table)
    if not args.no_write:
        data = {
            "machine": machine,
            "measured": measured,
            "resident_mb": args.resident,
            "load_average": load,
            "rows": [asdict(row) for row in rows],
        }
        RESULTS.write_text(json.dumps(data, indent=2) + "\n")
        readme = BENCH_DIR / "README.md"
        readme.write_text(report.replace_section(readme.read_text(), table, START, END))
        print(f"wrote {RESULTS.name} and README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
