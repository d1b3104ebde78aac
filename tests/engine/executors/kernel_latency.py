"""How long a notebook step waits for its kernel, with each way of getting one.

Not a test (nothing here asserts a time): run it by hand to compare on a given machine,

    python tests/engine/executors/kernel_latency.py [--repeat 5]

- plain: jupyter_client starts a kernel for the step (python -m ipykernel_launcher).
- fork: the kernel is forked from a fork server that has imported ipykernel.
- pool: a kernel started ahead of need is handed to the step (started plainly or forked).

It prints the kernel-ready latency of each (median and range, seconds), the CPU time a
kernel's start costs (which bounds how fast kernels can be made on a small machine), and two
whole-step scenarios through LocalExecutor: a chain of 10 one-cell notebooks run one after
the other, and 8 notebooks that sleep 2 s run at the same time.
"""

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import KernelSpecManager

from jupyter_orchest.engine.executors import LocalExecutor
from jupyter_orchest.engine.executors.forkserver import ForkServer, fork_python
from jupyter_orchest.engine.executors.kernels import (
    Kernel,
    KernelKey,
    client_context,
    start_managed_kernel,
)
from jupyter_orchest.engine.model import StepTask, Stream

KEY = KernelKey("python3")


class Quiet:
    def log(self, stream: Stream, text: str) -> None:
        pass


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(label: str, repeat: int, start: Callable[[], Awaitable[Kernel]]) -> None:
    latencies, cpu = [], []
    for _ in range(repeat):
        began = time.perf_counter()
        kernel = await start()
        latencies.append(time.perf_counter() - began)
        cpu.append(cpu_seconds(kernel.pid))
        await kernel.kill()
    print(
        f"{label:28} ready in {statistics.median(latencies):.3f} s "
        f"({min(latencies):.3f}-{max(latencies):.3f}), "
        f"kernel CPU {statistics.median(cpu):.2f} s"
    )


async def kernel_latencies(folder: Path, repeat: int) -> None:
    specs = KernelSpecManager()
    spec = specs.get_kernel_spec("python3")
    env = dict(os.environ)
    context = client_context()
    count = itertools.count()

    def sockets() -> Path:
        return folder / f"kernel-{next(count)}"

    await measure(
        "plain (jupyter_client)",
        repeat,
        lambda: start_managed_kernel(KEY, specs, folder, env, 60, 3, context, sockets()),
    )
    python = fork_python(spec)
    assert python is not None
    server = ForkServer(python, folder)
    began = time.perf_counter()
    await server.start(60)
    print(f"{'fork server start':28} {time.perf_counter() - began:.3f} s (once)")
    await measure(
        "fork", repeat, lambda: server.launch(KEY, spec, folder, env, 60, 3, context, sockets())
    )
    await server.close()

    for fork in (False, True):
        notebook = write_notebooks(folder, 1, "pass")[0]
        waits = []
        for index in range(repeat):
            async with LocalExecutor(fork_kernels=fork, pool_size=1, standby_kernels=1) as ex:
                await asyncio.sleep(2)  # the standby kernel is ready
                task = make_task(notebook, index)
                began = time.perf_counter()
                await ex.run_step(task, Quiet())
                waits.append(time.perf_counter() - began)
        label = f"pool ({'forked' if fork else 'plain'}), whole 1-cell step"
        print(f"{label:28} {statistics.median(waits):.3f} s ({min(waits):.3f}-{max(waits):.3f})")


def write_notebooks(folder: Path, count: int, source: str) -> list[Path]:
    paths = []
    for index in range(count):
        notebook = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        notebook.cells.append(nbformat.v4.new_code_cell(source))  # type: ignore[no-untyped-call]
        path = folder / f"step-{index}.ipynb"
        path.write_text(nbformat.writes(notebook))  # type: ignore[no-untyped-call]
        paths.append(path)
    return paths


def make_task(path: Path, index: int) -> StepTask:
    return StepTask("latency", f"step-{index}-{time.monotonic_ns()}", path.stem, path, None)


async def scenarios(folder: Path) -> None:
    configurations: dict[str, dict[str, Any]] = {
        "no pool, plain": {"fork_kernels": False, "pool_size": 0, "standby_kernels": 0},
        "no pool, forked": {"fork_kernels": True, "pool_size": 0, "standby_kernels": 0},
        "pool, plain": {"fork_kernels": False},
        "pool, forked": {"fork_kernels": True},
    }
    chain = write_notebooks(folder, 10, "x = 1")
    for label, options in configurations.items():
        began = time.perf_counter()
        async with LocalExecutor(**options) as executor:
            tasks = [make_task(path, index) for index, path in enumerate(chain)]
            executor.expect(tasks)
            for task in tasks:
                result = await executor.run_step(task, Quiet())
                assert result.succeeded, result.message
            done = time.perf_counter() - began
        total = time.perf_counter() - began
        print(f"chain of 10, {label:18} {done:.2f} s, {total:.2f} s with the executor's shutdown")
    fanout_folder = folder / "fanout"
    fanout_folder.mkdir()
    fanout = write_notebooks(fanout_folder, 8, "import time\ntime.sleep(2)")
    for label, options in configurations.items():
        began = time.perf_counter()
        async with LocalExecutor(**options) as executor:
            tasks = [make_task(path, index) for index, path in enumerate(fanout)]
            executor.expect(tasks)
            results = await asyncio.gather(*(executor.run_step(t, Quiet()) for t in tasks))
            assert all(result.succeeded for result in results)
            done = time.perf_counter() - began
        total = time.perf_counter() - began
        print(f"fan-out of 8, {label:17} {done:.2f} s, {total:.2f} s with the executor's shutdown")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-scenarios", action="store_true")
    arguments = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as folder:
        await kernel_latencies(Path(folder), arguments.repeat)
        if not arguments.no_scenarios:
            await scenarios(Path(folder))


if __name__ == "__main__":
    asyncio.run(main())
