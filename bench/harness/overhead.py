"""What running steps through one executor costs compared with another: the same pipeline run
in-process through each, timed from the executor's start to its shutdown.

Two ways to meet an executor:

- **cold**: a new executor per run, started, run, shut down, as for a command-line run or the
  first run of a server session (for Docker: the kernels' container starts within the run);
- **warm**: one executor for every run, started and used once before the timed runs, as for
  later runs of a server session (for Docker: the kernels' container is running already).
"""

import json
import time
from collections.abc import Callable
from pathlib import Path

from jupyter_orchest.engine.launch import RunLayout, prepare_run
from jupyter_orchest.engine.model import RunState, StepExecutor
from jupyter_orchest.engine.planning import RunType, plan_run
from jupyter_orchest.pipeline import parse_definition

from .tools import orchest_pipeline, write_plain_steps
from .workloads import Workload

ExecutorFactory = Callable[[], StepExecutor]


class _Quiet:
    """An observer that keeps nothing: the run's step logs are kept on disk anyway."""

    def run_changed(self, event: object) -> None:
        pass

    def step_changed(self, event: object) -> None:
        pass

    def step_logged(self, event: object) -> None:
        pass


def write_project(workload: Workload, run_dir: Path, environment: str) -> Path:
    """The workload as a project in `run_dir`; its pipeline file."""
    run_dir.mkdir(parents=True)
    (run_dir / ".orchest").mkdir()
    write_plain_steps(workload, run_dir)
    pipeline = run_dir / f"{workload.name}.orchest"
    pipeline.write_text(json.dumps(orchest_pipeline(workload, environment), indent=4) + "\n")
    return pipeline


async def run_pipeline(pipeline: Path, executor: StepExecutor) -> RunState:
    definition = parse_definition(pipeline.read_text())
    project = pipeline.parent
    layout = RunLayout.interactive(project, pipeline, definition["uuid"], "bench", project / "data")
    runner = prepare_run(
        definition=definition,
        plan=plan_run(definition, pipeline, RunType.ALL, None),
        layout=layout,
        executor=executor,
        observer=_Quiet(),
        parallelism=1,
    )
    return await runner.run()


async def cold_run(make_executor: ExecutorFactory, pipeline: Path) -> float:
    """Seconds from a new executor's start to its shutdown, running the pipeline once."""
    started = time.perf_counter()
    executor = make_executor()
    await executor.start()
    try:
        state = await run_pipeline(pipeline, executor)
    finally:
        await executor.shutdown()
    seconds = time.perf_counter() - started
    if state != RunState.SUCCESS:
        raise RuntimeError(f"the run ended {state.value}: see its logs in {pipeline.parent}")
    return seconds


async def warm_run(executor: StepExecutor, pipeline: Path) -> float:
    """Seconds to run the pipeline once through an executor that has run before."""
    started = time.perf_counter()
    state = await run_pipeline(pipeline, executor)
    seconds = time.perf_counter() - started
    if state != RunState.SUCCESS:
        raise RuntimeError(f"the run ended {state.value}: see its logs in {pipeline.parent}")
    return seconds
