"""Whole runs of real script steps: order, parallelism, failures, fail fast and cancel."""

import asyncio
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_orchest.engine.events import RunChanged, StepChanged, StepLogged
from jupyter_orchest.engine.executors import LocalExecutor
from jupyter_orchest.engine.launch import RunLayout, prepare_run
from jupyter_orchest.engine.model import RunState, StepState
from jupyter_orchest.engine.orchestrator import PipelineRunner
from jupyter_orchest.engine.planning import RunType, plan_run
from jupyter_orchest.pipeline import parse_definition
from support import WritePipeline, make_step

# Each step appends "<name> start <t>" and "<name> end <t>" to a shared journal.
JOURNALED = """\
import os, sys, time
journal = os.path.join(os.environ["ORCHEST_PROJECT_DIR"], "journal.txt")
name = os.path.basename(__file__)
def note(what):
    with open(journal, "a") as f:
        f.write(f"{{name}} {{what}} {{time.monotonic()}}\\n")
note("start")
{body}
note("end")
"""


def journaled(body: str = "") -> str:
    return JOURNALED.format(body=body)


class Recorder:
    def __init__(self) -> None:
        self.runs: list[RunChanged] = []
        self.steps: list[StepChanged] = []
        self.logs: list[StepLogged] = []

    def run_changed(self, event: RunChanged) -> None:
        self.runs.append(event)

    def step_changed(self, event: StepChanged) -> None:
        self.steps.append(event)

    def step_logged(self, event: StepLogged) -> None:
        self.logs.append(event)

    def final_states(self) -> dict[str, StepState]:
        return {event.step_uuid: event.state for event in self.steps}


def run_pipeline(
    pipeline_file: Path,
    *,
    run_type: RunType = RunType.ALL,
    selection: list[str] | None = None,
    overrides: dict[str, Any] | None = None,
    parallelism: int = 4,
    fail_fast: bool = False,
    while_running: Callable[[PipelineRunner], Any] | None = None,
) -> tuple[RunState, Recorder, RunLayout]:
    definition = parse_definition(pipeline_file.read_text())
    project = pipeline_file.parent
    layout = RunLayout.interactive(
        project, pipeline_file, definition["uuid"], "run1", project / "data"
    )
    recorder = Recorder()

    async def go() -> RunState:
        executor = LocalExecutor(grace_period=1.0)
        runner = prepare_run(
            definition=definition,
            plan=plan_run(definition, pipeline_file, run_type, selection),
            layout=layout,
            executor=executor,
            observer=recorder,
            parallelism=parallelism,
            overrides=overrides,
            fail_fast=fail_fast,
        )
        await executor.start()
        try:
            if while_running is None:
                return await runner.run()
            run = asyncio.ensure_future(runner.run())
            await while_running(runner)
            return await run
        finally:
            await executor.shutdown()

    return asyncio.run(go()), recorder, layout


def journal(project: Path) -> list[tuple[str, str, float]]:
    lines = (project / "journal.txt").read_text().split()
    return [(lines[i], lines[i + 1], float(lines[i + 2])) for i in range(0, len(lines), 3)]


def test_steps_run_after_their_parents(write_pipeline: WritePipeline, project: Path) -> None:
    file = write_pipeline(
        [
            make_step("a", "a.py", []),
            make_step("b", "b.py", ["a"]),
            make_step("c", "c.sh", ["a"]),
            make_step("d", "d.py", ["b", "c"]),
        ],
        {
            "a.py": journaled(),
            "b.py": journaled(),
            "c.sh": 'echo "c.sh start 0" >> "$ORCHEST_PROJECT_DIR/journal.txt"\necho hello\n',
            "d.py": journaled(),
        },
    )
    state, recorder, layout = run_pipeline(file)
    assert state == RunState.SUCCESS
    assert recorder.final_states() == {s: StepState.COMPUTED for s in "abcd"}
    order = [name for name, what, _ in journal(project) if what == "start"]
    assert order[0] == "a.py" and order[-1] == "d.py"
    assert (layout.logs_dir / "c.log").read_text() == "hello\n"
    transitions = [(e.step_uuid, e.state) for e in recorder.steps if e.step_uuid == "b"]
    assert transitions == [
        ("b", StepState.PENDING),
        ("b", StepState.RUNNING),
        ("b", StepState.COMPUTED),
    ]


def test_parallelism_limits_how_many_steps_run_at_once(
    write_pipeline: WritePipeline, project: Path
) -> None:
    names = ["p1", "p2", "p3", "p4"]
    file = write_pipeline(
        [make_step(name, f"{name}.py", []) for name in names],
        {f"{name}.py": journaled("time.sleep(0.4)") for name in names},
    )
    state, _, _ = run_pipeline(file, parallelism=2)
    assert state == RunState.SUCCESS
    running, most = 0, 0
    for _, what, _ in sorted(journal(project), key=lambda entry: entry[2]):
        running += 1 if what == "start" else -1
        most = max(most, running)
    assert most == 2


def test_a_failure_aborts_descendants_and_lets_other_branches_finish(
    write_pipeline: WritePipeline,
) -> None:
    file = write_pipeline(
        [
            make_step("root", "root.py", []),
            make_step("bad", "bad.py", ["root"]),
            make_step("after", "after.py", ["bad"]),
            make_step("other", "other.py", ["root"]),
        ],
        {
            "root.py": "",
            "bad.py": "raise SystemExit('no data today')",
            "after.py": "",
            "other.py": "import time; time.sleep(0.5)",
        },
    )
    state, recorder, layout = run_pipeline(file)
    assert state == RunState.FAILURE
    finals = recorder.final_states()
    assert finals == {
        "root": StepState.COMPUTED,
        "bad": StepState.FAILURE,
        "after": StepState.ABORTED,
        "other": StepState.COMPUTED,
    }
    aborted = next(e for e in recorder.steps if e.step_uuid == "after" and e.state.finished)
    assert "Bad" in aborted.message
    assert "no data today" in (layout.logs_dir / "bad.log").read_text()
    assert "Bad" in recorder.runs[-1].message


def test_fail_fast_aborts_steps_still_running(write_pipeline: WritePipeline) -> None:
    file = write_pipeline(
        [make_step("bad", "bad.py", []), make_step("slow", "slow.py", [])],
        {
            "bad.py": "import time; time.sleep(0.3); raise SystemExit(3)",
            "slow.py": "import time; time.sleep(30)",
        },
    )
    started = time.monotonic()
    state, recorder, _ = run_pipeline(file, fail_fast=True)
    assert time.monotonic() - started < 20
    assert state == RunState.FAILURE
    assert recorder.final_states() == {"bad": StepState.FAILURE, "slow": StepState.ABORTED}


def test_cancel_stops_running_steps_and_leaves_no_process(
    write_pipeline: WritePipeline, project: Path
) -> None:
    file = write_pipeline(
        [make_step("slow", "slow.py", []), make_step("next", "next.py", ["slow"])],
        {
            "slow.py": "import os, time\nopen('pid', 'w').write(str(os.getpid()))\ntime.sleep(60)",
            "next.py": "",
        },
    )

    async def cancel_once_started(runner: PipelineRunner) -> None:
        while not (project / "pid").exists() or not (project / "pid").read_text():
            await asyncio.sleep(0.05)
        runner.cancel()

    state, recorder, _ = run_pipeline(file, while_running=cancel_once_started)
    assert state == RunState.ABORTED
    assert recorder.final_states() == {"slow": StepState.ABORTED, "next": StepState.ABORTED}
    pid = int((project / "pid").read_text())
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_selection_runs_only_the_chosen_steps(write_pipeline: WritePipeline) -> None:
    file = write_pipeline(
        [make_step("a", "a.py", []), make_step("b", "b.py", ["a"]), make_step("c", "c.py", ["b"])],
        {"a.py": "", "b.py": "", "c.py": ""},
    )
    _, only, _ = run_pipeline(file, run_type=RunType.SELECTION, selection=["b"])
    assert set(only.final_states()) == {"b"}
    _, incoming, _ = run_pipeline(file, run_type=RunType.INCOMING, selection=["b"])
    assert set(incoming.final_states()) == {"a", "b"}


def test_missing_step_file_fails_that_step_clearly(write_pipeline: WritePipeline) -> None:
    file = write_pipeline([make_step("gone", "gone.py", [])], {})
    state, recorder, _ = run_pipeline(file)
    assert state == RunState.FAILURE
    failed = recorder.steps[-1]
    assert failed.state == StepState.FAILURE and "does not exist" in failed.message


def test_step_environment_names_the_step(write_pipeline: WritePipeline, project: Path) -> None:
    file = write_pipeline(
        [make_step("who", "who.py", [])],
        {
            "who.py": "import json, os\n"
            "print(json.dumps({k: v for k, v in os.environ.items() if k[:8] == 'ORCHEST_'}))"
        },
    )
    state, _, layout = run_pipeline(file)
    assert state == RunState.SUCCESS
    seen = json.loads((layout.logs_dir / "who.log").read_text())
    assert seen["ORCHEST_STEP_UUID"] == "who"
    assert seen["ORCHEST_PIPELINE_UUID"] == "pipeline-1"
    assert seen["ORCHEST_RUN_UUID"] == "run1"
    assert seen["ORCHEST_PIPELINE_PATH"] == "test.orchest"
    assert Path(seen["ORCHEST_PROJECT_DIR"]) == project
    assert os.path.isdir(seen["ORCHEST_DATA_DIR"])
