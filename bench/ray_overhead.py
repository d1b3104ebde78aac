"""Steps as Ray tasks on a local Ray instance, beside the local executor.

    python bench/ray_overhead.py [--repeat N] [--length N] [--cpus N] [--no-write]

Starts a local Ray instance in this process (`ray.init` with `--cpus` CPUs, no dashboard),
then runs a chain of trivial notebooks and a chain of trivial scripts through the local
executor and through the Ray executor, cold and warm (see harness/overhead.py), going round
the executors. Writes bench/ray_results.json and a section of bench/README.md.
"""

import argparse
import asyncio
import os
import sys
from pathlib import Path

from docker_overhead import DEFAULT_CACHE, Row, measure_workloads, publish
from docker_overhead import render as render_comparison
from harness.overhead import ExecutorFactory

from jupyter_orchest.engine.executors import LocalExecutor
from jupyter_orchest.engine.executors.ray import RayExecutor

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "ray_results.json"
START = "<!-- bench:ray:start -->"
END = "<!-- bench:ray:end -->"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per row")
    parser.add_argument("--length", type=int, default=10, help="steps in each chain")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the Ray instance")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("JUPYTER_ORCHEST_BENCH_CACHE", DEFAULT_CACHE)) / "ray",
        help="folder for the runs",
    )
    parser.add_argument("--no-write", action="store_true", help="print the results only")
    return parser.parse_args(argv)


async def measure(args: argparse.Namespace) -> list[Row]:
    factories: dict[str, ExecutorFactory] = {
        "local": LocalExecutor,
        "ray": lambda: RayExecutor("auto"),  # this process's Ray instance
    }
    return await measure_workloads(factories, args)


def render(rows: list[Row], machine: str, measured: str) -> str:
    """A Markdown table: per workload and mode, both executors' medians and what Ray adds."""
    return render_comparison(rows, machine, measured, "ray")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    import ray

    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    try:
        rows = asyncio.run(measure(args))
    finally:
        ray.shutdown()
    publish(rows, render, RESULTS, (START, END), write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
