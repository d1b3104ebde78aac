"""The Docker backend's overhead per step, beside the local executor.

    python bench/docker_overhead.py [--repeat N] [--length N] [--base-image IMAGE] [--no-write]

Builds an environment with an empty setup script from the base image (reused when built
before), then runs a chain of trivial notebooks and a chain of trivial scripts through the
local executor and through the Docker executor, cold and warm (see harness/overhead.py),
going round the backends. Writes bench/docker_results.json and a section of bench/README.md.
"""

import argparse
import asyncio
import datetime
import json
import os
import shutil
import ssl
import statistics
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness import report, workloads
from harness.overhead import ExecutorFactory, cold_run, warm_run, write_project
from harness.tools import check_outputs
from harness.workloads import MARKER_DIR, Workload

from jupyter_orchest.engine.executors import LocalExecutor
from jupyter_orchest.environments.docker import DockerBackend
from jupyter_orchest.environments.model import BuildRequest, BuiltEnvironment, Environment

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_CACHE = Path("~/.cache/jupyter-orchest-bench").expanduser()
RESULTS = BENCH_DIR / "docker_results.json"
START = "<!-- bench:docker:start -->"
END = "<!-- bench:docker:end -->"
BACKENDS = ("local", "docker")
MODES = ("cold", "warm")
ENVIRONMENT = "bench-overhead"


@dataclass
class Row:
    workload: str
    mode: str
    backend: str
    steps: int
    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per row")
    parser.add_argument("--length", type=int, default=10, help="steps in each chain")
    parser.add_argument("--base-image", default="jupyter-orchest/base:bookworm")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("JUPYTER_ORCHEST_BENCH_CACHE", DEFAULT_CACHE)) / "docker",
        help="folder for the environment's project and the runs",
    )
    parser.add_argument("--no-write", action="store_true", help="print the results only")
    return parser.parse_args(argv)


def ca_bundle() -> Path | None:
    """The host's CA bundle, for builds behind a TLS-intercepting proxy."""
    for candidate in (os.environ.get("PIP_CERT"), ssl.get_default_verify_paths().cafile):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


async def build(backend: DockerBackend, project: Path, base_image: str) -> BuiltEnvironment:
    project.mkdir(parents=True, exist_ok=True)
    environment = Environment(
        uuid=ENVIRONMENT,
        name="bench",
        base_image=base_image,
        language="python",
        gpu_support=False,
        setup_script="",
        project_dir=project,
    )
    return await backend.build(BuildRequest(environment, 1, lambda text: None))


def fresh_run_dir(cache: Path, *parts: str) -> Path:
    folder = cache.joinpath("runs", *parts)
    if folder.exists():
        shutil.rmtree(folder)
    return folder


def verify(workload: Workload, pipeline: Path) -> None:
    problem = check_outputs(workload, pipeline.parent)
    if problem is not None:
        raise RuntimeError(f"{workload.name}: {problem} (in {pipeline.parent})")


async def measure_cold(
    workload: Workload, factories: dict[str, ExecutorFactory], cache: Path, repeat: int
) -> list[Row]:
    rows = {name: Row(workload.name, "cold", name, len(workload.steps)) for name in factories}
    for index in range(repeat + 1):  # the first round warms caches, untimed
        for name, factory in factories.items():
            run_dir = fresh_run_dir(cache, workload.name, "cold", name)
            pipeline = write_project(workload, run_dir, ENVIRONMENT)
            seconds = await cold_run(factory, pipeline)
            verify(workload, pipeline)
            if index:
                rows[name].seconds.append(round(seconds, 3))
            print(f"{workload.name:<13} cold {name:<7} {seconds:6.2f} s", flush=True)
    return list(rows.values())


async def measure_warm(
    workload: Workload, factories: dict[str, ExecutorFactory], cache: Path, repeat: int
) -> list[Row]:
    """One executor per backend for all runs, each in its own project folder used again
    (a Docker executor keeps a kernels' container per project folder)."""
    rows = {name: Row(workload.name, "warm", name, len(workload.steps)) for name in factories}
    executors = {name: factory() for name, factory in factories.items()}
    folders = {name: fresh_run_dir(cache, workload.name, "warm", name) for name in factories}
    pipelines = {name: write_project(workload, folders[name], ENVIRONMENT) for name in factories}
    try:
        for executor in executors.values():
            await executor.start()
        for index in range(repeat + 1):  # the first round starts what stays, untimed
            for name, executor in executors.items():
                shutil.rmtree(pipelines[name].parent / MARKER_DIR, ignore_errors=True)
                seconds = await warm_run(executor, pipelines[name])
                verify(workload, pipelines[name])
                if index:
                    rows[name].seconds.append(round(seconds, 3))
                print(f"{workload.name:<13} warm {name:<7} {seconds:6.2f} s", flush=True)
    finally:
        for executor in executors.values():
            await executor.shutdown()
    return list(rows.values())


async def measure(args: argparse.Namespace) -> list[Row]:
    backend = DockerBackend(
        base_images={},
        runtime_dir=args.cache / "runtime",
        sdk_parent=args.cache / "sdk",
        grace_period=3.0,
        ca_bundle=ca_bundle(),
        carry_proxy=True,
    )
    await backend.check()
    built = await build(backend, args.cache / "environment", args.base_image)
    factories: dict[str, ExecutorFactory] = {
        "local": LocalExecutor,
        "docker": lambda: backend.executor(built),
    }
    return await measure_workloads(factories, args)


async def measure_workloads(
    factories: dict[str, ExecutorFactory], args: argparse.Namespace
) -> list[Row]:
    """Both chains (notebooks, scripts), each executor started per run and reused."""
    rows: list[Row] = []
    for workload in (workloads.chain(args.length), workloads.script_chain(args.length)):
        rows += await measure_cold(workload, factories, args.cache, args.repeat)
        rows += await measure_warm(workload, factories, args.cache, args.repeat)
    return rows


def render(rows: list[Row], machine: str, measured: str, other: str = "docker") -> str:
    """A Markdown table: per workload and mode, the local executor's and `other`'s medians,
    and what `other` adds."""
    lines = [
        f"Measured on {machine}, {measured}; medians of {len(rows[0].seconds)} runs each.",
        "",
        f"| workload | executor started | local | {other} | {other} / local | local per step "
        f"| {other} per step | {other} adds per step |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    by_key = {(row.workload, row.mode, row.backend): row for row in rows}
    for workload, mode in dict.fromkeys((row.workload, row.mode) for row in rows):
        local, them = by_key[(workload, mode, "local")], by_key[(workload, mode, other)]
        steps = local.steps
        lines.append(
            f"| {workload} ({steps} steps) | {mode} | {local.median:.2f} s | "
            f"{them.median:.2f} s | {them.median / local.median:.1f}x | "
            f"{local.median / steps:.2f} s | {them.median / steps:.2f} s | "
            f"{(them.median - local.median) / steps:.2f} s |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    rows = asyncio.run(measure(args))
    publish(rows, render, RESULTS, (START, END), write=not args.no_write)
    return 0


def publish(
    rows: list[Any],
    render: Callable[[list[Any], str, str], str],
    results: Path,
    markers: tuple[str, str],
    write: bool,
) -> None:
    """Print the table; with `write`, keep the rows (dataclasses) in `results` and the table in
    the bench README between `markers`."""
    machine = report.describe_machine()
    measured = datetime.date.today().isoformat()
    table = render(rows, machine, measured)
    print("\n" + table)
    if write:
        data = {"machine": machine, "measured": measured, "rows": [asdict(r) for r in rows]}
        results.write_text(json.dumps(data, indent=2) + "\n")
        readme = BENCH_DIR / "README.md"
        readme.write_text(report.replace_section(readme.read_text(), table, *markers))
        print(f"wrote {results.name} and README.md")


if __name__ == "__main__":
    sys.exit(main())
