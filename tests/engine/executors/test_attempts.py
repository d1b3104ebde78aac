"""Retries and timeouts in whole runs of real steps (local scripts and notebooks in real
kernels), recorded in a real cache and SQLite database: each attempt in the step's events,
log and provenance; a timed-out step leaves no process; a cancelled run stops at once, even
while a step waits to be tried again."""

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from jupyter_orchest.engine.cache import StepCache
from jupyter_orchest.engine.caching import Caching
from jupyter_orchest.engine.events import RunChanged, StepChanged, StepLogged
from jupyter_orchest.engine.executors import LocalExecutor
from jupyter_orchest.engine.launch import RunLayout, prepare_run
from jupyter_orchest.engine.logs import step_log_path
from jupyter_orchest.engine.model import RunState, StepState
from jupyter_orchest.engine.orchestrator import PipelineRunner
from jupyter_orchest.engine.planning import RunType, plan_run
from jupyter_orchest.pipeline import parse_definition
from jupyter_orchest.store import RunStore
from jupyter_orchest.store.database import sqlite_url
from jupyter_orchest.store.provenance import ProvenanceStore
from support import WritePipeline, make_step

# Fails on its first attempt, succeeds on the next: the marker file remembers the attempt.
FLAKY = """\
from pathlib import Path
marker = Path("tried-{name}")
if not marker.exists():
    marker.write_text("once")
    raise SystemExit("the first attempt failed")
print("attempt after the first worked")
"""

# Writes its process id and that of a child it starts, then waits far longer than its timeout.
HANGS = """\
import os, subprocess, time
child = subprocess.Popen(["sleep", "300"])
with open("pids-{name}", "w") as file:
    file.write(f"{{os.getpid()}} {{child.pid}}")
print("waiting", flush=True)
time.sleep(300)
"""


def notebook(source: str) -> str:
    return json.dumps(
        {
            "cells": [
                {
                    "cell_type": "code",
                    "metadata": {},
                    "source": source,
                    "outputs": [],
                    "execution_count": None,
                }
            ],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )


@dataclass
class Events:
    steps: list[StepChanged] = field(default_factory=list)
    logs: list[StepLogged] = field(default_factory=list)

    def run_changed(self, event: RunChanged) -> None:
        pass

    def step_changed(self, event: StepChanged) -> None:
        self.steps.append(event)

    def step_logged(self, event: StepLogged) -> None:
        self.logs.append(event)

    def final(self, uuid: str) -> StepChanged:
        return [event for event in self.steps if event.step_uuid == uuid][-1]

    def attempts_announced(self, uuid: str) -> list[int]:
        return [
            event.attempt
            for event in self.steps
            if event.step_uuid == uuid and event.state == StepState.RUNNING
        ]


class Runs:
    """Runs the project's pipeline with a local executor, one cache and one database."""

    def __init__(self, project: Path, tmp_path: Path) -> None:
        self.project = project
        self.cache = StepCache(tmp_path / "cache", 1 << 30)
        self.ledger = ProvenanceStore(RunStore(sqlite_url(tmp_path / "orchest.db")))
        self.count = 0

    def __call__(
        self, while_running: Callable[[PipelineRunner, Events], Any] | None = None
    ) -> tuple[RunState, Events, RunLayout]:
        pipeline_file = self.project / "test.orchest"
        definition = parse_definition(pipeline_file.read_text())
        self.count += 1
        layout = RunLayout.interactive(
            self.project,
            pipeline_file,
            definition["uuid"],
            f"run{self.count}",
            self.project / "data",
        )
        events = Events()

        async def go() -> RunState:
            executor = LocalExecutor(grace_period=1.0)
            runner = prepare_run(
                definition=definition,
                plan=plan_run(definition, pipeline_file, RunType.ALL),
                layout=layout,
                executor=executor,
                observer=events,
                parallelism=2,
                caching=Caching(self.cache, self.ledger),
            )
            await executor.start()
            try:
                if while_running is None:
                    return await runner.run()
                run = asyncio.ensure_future(runner.run())
                await while_running(runner, events)
                return await run
            finally:
                await executor.shutdown()

        return asyncio.run(go()), events, layout


@pytest.fixture
def runs(project: Path, tmp_path: Path) -> Runs:
    return Runs(project, tmp_path)


def log_of(layout: RunLayout, uuid: str) -> str:
    return step_log_path(layout.logs_dir, uuid).read_text()


def in_order(text: str, *parts: str) -> bool:
    positions = [text.find(part) for part in parts]
    return -1 not in positions and positions == sorted(positions)


def test_a_flaky_script_and_notebook_succeed_on_their_second_attempt(
    write_pipeline: WritePipeline, runs: Runs
) -> None:
    write_pipeline(
        [
            make_step("script", "flaky.py", [], retries=2),
            make_step("notebook", "flaky.ipynb", [], retries=1),
        ],
        {
            "flaky.py": FLAKY.format(name="script"),
            "flaky.ipynb": notebook(FLAKY.format(name="notebook")),
        },
    )
    state, events, layout = runs()
    assert state == RunState.SUCCESS
    for uuid, tries in (("script", 3), ("notebook", 2)):
        final = events.final(uuid)
        assert (final.state, final.attempt, final.attempts) == (StepState.COMPUTED, 2, tries)
        assert events.attempts_announced(uuid) == [1, 2]
        log = log_of(layout, uuid)
        assert in_order(
            log,
            f"[attempt 1 of {tries}]",
            "the first attempt failed",
            "[attempt 1 failed:",
            f"[attempt 2 of {tries}]",
            "attempt after the first worked",
        ), log
        first, second = runs.ledger.executions("run1", uuid)
        assert not first.success and "the first attempt failed" in first.stderr + first.error
        assert second.success and "attempt after the first worked" in second.stdout
    retry = next(e for e in events.steps if e.step_uuid == "script" and e.attempt == 2)
    assert retry.state == StepState.RUNNING and "Attempt 1 failed" in retry.message

    # Run again: both are restored from the cache, never tried again.
    state, events, layout = runs()
    assert state == RunState.SUCCESS
    for uuid in ("script", "notebook"):
        assert events.final(uuid).cached and events.attempts_announced(uuid) == [1]
        log = log_of(layout, uuid)  # the first run's log, replayed once
        assert log.startswith("[restored from the cache") and log.count("[attempt 2 of") == 1
        assert runs.ledger.executions("run2", uuid) == []


def test_a_step_that_always_fails_uses_up_its_retries(
    write_pipeline: WritePipeline, runs: Runs
) -> None:
    write_pipeline(
        [make_step("a", "a.py", [], retries=2, retry_delay=0.2), make_step("b", "b.py", ["a"])],
        {"a.py": "raise SystemExit('broken')", "b.py": "print('never')"},
    )
    started = time.monotonic()
    state, events, layout = runs()
    assert time.monotonic() - started >= 0.4  # two delays between three attempts
    assert state == RunState.FAILURE
    final = events.final("a")
    assert final.state == StepState.FAILURE and final.attempt == 3
    assert final.message == "a.py exited with code 1 (attempt 3 of 3)"
    assert events.final("b").state == StepState.ABORTED
    assert log_of(layout, "a").count("broken") == 3
    assert [e.success for e in runs.ledger.executions("run1", "a")] == [False] * 3


@pytest.mark.parametrize("name", ["hangs.py", "hangs.ipynb"])
def test_a_step_that_times_out_fails_and_leaves_no_process(
    name: str, write_pipeline: WritePipeline, project: Path, runs: Runs, kit: Any
) -> None:
    source = HANGS.format(name="a")
    write_pipeline(
        [make_step("a", name, [], timeout=2)],
        {name: notebook(source) if name.endswith(".ipynb") else source},
    )
    state, events, layout = runs()
    assert state == RunState.FAILURE
    final = events.final("a")
    assert final.state == StepState.FAILURE and final.message == "timed out after 2 s"
    assert "waiting" in log_of(layout, "a") and "timed out after 2 s" in log_of(layout, "a")
    pids = [int(pid) for pid in (project / "pids-a").read_text().split()]
    assert not asyncio.run(kit.wait_gone(pids, timeout=5)), "a process of the step is left"
    (execution,) = runs.ledger.executions("run1", "a")
    assert execution.error == "timed out after 2 s" and "waiting" in execution.stdout


def test_a_timed_out_attempt_is_tried_again(write_pipeline: WritePipeline, runs: Runs) -> None:
    slow_once = (
        "import time\nfrom pathlib import Path\n"
        "if not Path('slow').exists():\n    Path('slow').touch()\n    time.sleep(300)\n"
        "print('quick this time')"
    )
    write_pipeline([make_step("a", "a.py", [], timeout=1.5, retries=1)], {"a.py": slow_once})
    state, _, layout = runs()
    assert state == RunState.SUCCESS
    assert in_order(log_of(layout, "a"), "[attempt 1 failed: timed out after 1.5 s]", "quick")


def test_cancelling_during_a_retry_delay_stops_at_once(
    write_pipeline: WritePipeline, runs: Runs
) -> None:
    write_pipeline(
        [make_step("a", "a.py", [], retries=3, retry_delay=300)], {"a.py": "raise SystemExit(1)"}
    )
    cancelled_at = 0.0

    async def cancel_in_the_delay(runner: PipelineRunner, events: Events) -> None:
        nonlocal cancelled_at
        while events.attempts_announced("a") != [1, 2]:  # attempt 2 waits for its turn
            await asyncio.sleep(0.02)
        cancelled_at = time.monotonic()
        runner.cancel()

    state, events, _ = runs(cancel_in_the_delay)
    assert time.monotonic() - cancelled_at < 2
    assert state == RunState.ABORTED and events.final("a").state == StepState.ABORTED
