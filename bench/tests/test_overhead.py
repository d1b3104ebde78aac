"""The Docker overhead benchmark's parts that need no Docker: in-process runs through the
local executor, and the table."""

import asyncio
from pathlib import Path

import docker_overhead
from harness import workloads
from harness.overhead import cold_run, warm_run, write_project
from harness.tools import check_outputs

from jupyter_orchest.engine.executors import LocalExecutor


def test_script_chain_is_a_chain_of_scripts() -> None:
    chain = workloads.script_chain(4)
    assert [step.kind for step in chain.steps] == ["python"] * 4
    assert chain.steps[3].parents == (chain.steps[2].name,)
    assert len(chain.expected_files) == 4


async def cold_then_warm(workload: workloads.Workload, pipeline: Path) -> None:
    await cold_run(LocalExecutor, pipeline)
    assert check_outputs(workload, pipeline.parent) is None
    executor = LocalExecutor()
    await executor.start()
    try:
        await warm_run(executor, pipeline)
    finally:
        await executor.shutdown()
    assert check_outputs(workload, pipeline.parent) is None


def test_cold_and_warm_runs_do_the_work(tmp_path: Path) -> None:
    for workload in (workloads.chain(2), workloads.script_chain(2)):
        pipeline = write_project(workload, tmp_path / workload.name, "environment")
        asyncio.run(cold_then_warm(workload, pipeline))


def test_the_table_says_what_docker_adds_per_step() -> None:
    rows = [
        docker_overhead.Row("chain", "cold", "local", 10, [2.0, 3.0, 4.0]),
        docker_overhead.Row("chain", "cold", "docker", 10, [5.0, 6.0, 7.0]),
    ]
    table = docker_overhead.render(rows, "2 cores", "2026-01-01")
    assert "medians of 3 runs" in table
    row = "| chain (10 steps) | cold | 3.00 s | 6.00 s | 2.0x | 0.30 s | 0.60 s | 0.30 s |"
    assert row in table
