"""Caching and provenance in real runs: real kernels and processes, a real cache folder and a
real SQLite database. Each test runs a pipeline, changes one thing, runs it again and looks at
which steps ran, which came from the cache, and why."""

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cached_runs import Runs, notebook
from jupyter_orchest.engine.cache import StepCache
from jupyter_orchest.engine.executors import LocalExecutor
from jupyter_orchest.engine.model import RunState, StepTask
from support import WritePipeline, make_step

# A script step that outputs its parameter `value` (default: the constant in its code) plus
# the sum of its inputs.
SCRIPT = """\
import orchest
inputs = orchest.get_inputs()
total = sum(value for value in inputs["unnamed"])
orchest.output(orchest.get_step_param("value", {constant}) + total, name=None)
print("computed", orchest.get_step_param("value", {constant}) + total)
"""


def script(constant: int = 1) -> str:
    return SCRIPT.format(constant=constant)


NOTEBOOK_CELLS = (
    ("markdown", "# Load"),
    ("code", "import orchest\nvalue = orchest.get_step_param('value', 1)"),
    ("code", "orchest.output(value, name='loaded')\nprint('loaded', value)"),
)


class IdentityTag(LocalExecutor):
    """A local executor whose environment identity carries a tag: the test's way to change
    "the software steps run with" without installing anything."""

    def __init__(self, tag: str) -> None:
        super().__init__(grace_period=1.0)
        self.tag = tag

    async def environment_identity(self, task: StepTask) -> str:
        return self.tag + await super().environment_identity(task)


@pytest.fixture
def runs(project: Path, tmp_path: Path) -> Runs:
    return Runs(project, tmp_path)


def chain_of_scripts(write_pipeline: WritePipeline, **extra: dict[str, Any]) -> None:
    """a -> b -> c, and d on its own."""
    write_pipeline(
        [
            make_step("a", "a.py", [], **extra.get("a", {})),
            make_step("b", "b.py", ["a"], **extra.get("b", {})),
            make_step("c", "c.py", ["b"], **extra.get("c", {})),
            make_step("d", "d.py", [], **extra.get("d", {})),
        ],
        {"a.py": script(1), "b.py": script(10), "c.py": script(100), "d.py": script(1000)},
    )


def output_value(project: Path, step: str) -> Any:
    from jupyter_orchest.sdk.outputs import load_output, read_manifest

    folder = project / ".orchest" / "pipelines" / "pipeline-1" / "data" / step
    records = read_manifest(str(folder))
    assert records, f"{step} has no outputs"
    return load_output(str(folder), records[0], step)


def test_an_unchanged_rerun_restores_every_step(
    write_pipeline: WritePipeline, project: Path, runs: Runs
) -> None:
    chain_of_scripts(write_pipeline)
    first = runs()
    assert first.state == RunState.SUCCESS
    assert first.computed == {"a", "b", "c", "d"}
    assert first.reasons("a") == ("not run before",)

    second = runs()
    assert second.state == RunState.SUCCESS
    assert second.cached == {"a", "b", "c", "d"}
    assert output_value(project, "c") == 111
    # The log of the run that computed it, replayed into this run's log.
    log = (project / ".orchest/pipelines/pipeline-1/runs/run2/logs/c.log").read_text()
    assert "computed 111" in log and "restored from the cache" in log


def test_a_changed_step_reruns_with_its_descendants_only(
    write_pipeline: WritePipeline, project: Path, runs: Runs
) -> None:
    chain_of_scripts(write_pipeline)
    runs()
    (project / "b.py").write_text(script(20))
    again = runs()
    assert again.computed == {"b", "c"}
    assert again.cached == {"a", "d"}
    assert again.reasons("b") == ("file changed",)
    assert again.reasons("c") == ("upstream `B` output changed",)
    assert output_value(project, "c") == 121


def test_a_parameter_change_says_which_and_how(
    write_pipeline: WritePipeline, project: Path, runs: Runs
) -> None:
    chain_of_scripts(write_pipeline, b={"parameters": {"value": 0.1}})
    runs()
    again = runs(overrides={"steps": {"b": {"value": 0.2}}})
    assert again.computed == {"b", "c"}
    assert again.reasons("b") == ("parameter `value` changed from 0.1 to 0.2",)
    pipeline_wide = runs(overrides={"steps": {"b": {"value": 0.2}}, "pipeline": {"n": 3}})
    assert pipeline_wide.computed == {"a", "b", "c", "d"}
    assert pipeline_wide.reasons("d") == ("pipeline parameter `n` added (3)",)


def test_an_environment_change_reruns_everything(
    write_pipeline: WritePipeline, project: Path, runs: Runs
) -> None:
    chain_of_scripts(write_pipeline)
    runs(executor=IdentityTag("one"))
    assert runs(executor=IdentityTag("one")).cached == {"a", "b", "c", "d"}
    changed = runs(executor=IdentityTag("two"))
    assert changed.computed == {"a", "b", "c", "d"}
    assert changed.reasons("a") == ("environment changed",)
    assert changed.reasons("b") == ("environment changed",)  # its input is the same


def test_an_identical_recomputed_output_keeps_children_cached(
    write_pipeline: WritePipeline, project: Path, runs: Runs
) -> None:
    # a opts out: it always runs, and outputs the same value every time.
    chain_of_scripts(write_pipeline, a={"cache": False})
    runs()
    again = runs()
    assert again.computed == {"a"}
    assert again.reasons("a") == ("caching is off for this step",)
    assert again.cached == {"b", "c", "d"}
    # Once its output changes, its children run again.
    (project / "a.py").write_text(script(2))
    changed = runs()
    assert changed.computed == {"a", "b", "c"}
    assert changed.reasons("b") == ("upstream `A` output changed",)


def test_force_recomputes_the_selection(
    write_pipeline: WritePipeline, project: Path, runs: Runs
) -> None:
    chain_of_scripts(write_pipeline)
    runs()
    forced = runs(force=True)
    assert forced.computed == {"a", "b", "c", "d"}
    assert forced.reasons("c") == ("forced",)
    selected = runs(force=True, selection=["b"])
    assert set(selected.steps) == {"b"} and selected.computed == {"b"}
    assert runs(selection=["b"]).cached == {"b"}


def test_notebooks_key_on_code_cells_and_kernel_not_on_markdown_or_outputs(
    write_pipeline: WritePipeline, project: Path, runs: Runs
) -> None:
    write_pipeline(
        [
            make_step("load", "load.ipynb", [], kernel={"name": "python3"}),
            make_step("after", "after.py", ["load"]),
        ],
        {"load.ipynb": notebook(*NOTEBOOK_CELLS), "after.py": script(0)},
    )
    first = runs()
    assert first.state == RunState.SUCCESS, first.steps
    computed_text = (project / "load.ipynb").read_text()
    assert "loaded 1" in computed_text

    # The user edits the markdown, clears the outputs and adds notebook metadata.
    edited = json.loads(computed_text)
    edited["cells"][0]["source"] = ["# Load the data\n", "Now with more words."]
    for cell in edited["cells"][1:]:
        cell["outputs"], cell["execution_count"] = [], None
    edited["metadata"]["toc"] = {"collapsed": True}
    (project / "load.ipynb").write_text(json.dumps(edited))
    second = runs()
    assert second.cached == {"load", "after"}
    restored = json.loads((project / "load.ipynb").read_text())
    assert restored["cells"][0]["source"] == ["# Load the data\n", "Now with more words."]
    assert restored["metadata"]["toc"] == {"collapsed": True}
    assert "loaded 1" in "".join(restored["cells"][2]["outputs"][0]["text"])
    assert restored["cells"][2]["execution_count"] == 2

    # Restored again, the notebook already shows those outputs: the file is left alone.
    before = (project / "load.ipynb").stat()
    assert runs().cached == {"load", "after"}
    after = (project / "load.ipynb").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)

    # A code cell's edit invalidates it.
    restored["cells"][1]["source"] = "import orchest\nvalue = orchest.get_step_param('value', 5)"
    (project / "load.ipynb").write_text(json.dumps(restored))
    third = runs()
    assert third.computed == {"load", "after"}
    assert third.reasons("load") == ("file changed",)
    assert third.reasons("after") == ("upstream `Load` output changed",)


def test_provenance_says_where_a_result_came_from(
    write_pipeline: WritePipeline, project: Path, runs: Runs
) -> None:
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    chain_of_scripts(write_pipeline)
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "steps"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    runs()
    runs()
    computed = runs.ledger.get("run1", "b")
    cached = runs.ledger.get("run2", "b")
    assert computed is not None and cached is not None
    assert not computed.cached and cached.cached and cached.source_run_id == "run1"
    assert cached.key == computed.key and cached.outputs_digest == computed.outputs_digest
    assert computed.git_commit == head.strip()
    assert computed.executor == "LocalExecutor" and computed.host
    assert computed.state == "COMPUTED" and computed.started_at <= computed.finished_at
    (parent,) = cached.parts.inputs
    assert (parent.step_uuid, parent.title, parent.run_id) == ("a", "A", "run2")
    assert parent.digest == runs.ledger.get("run2", "a").outputs_digest  # type: ignore[union-attr]
    assert [o.size > 0 for o in computed.outputs] == [True]
    (execution,) = runs.ledger.executions("run1", "b")
    assert execution.success and "computed 11" in execution.stdout
    assert runs.ledger.executions("run2", "b") == []  # restored, not executed


def test_a_failed_step_logs_its_traceback_and_is_not_cached(
    write_pipeline: WritePipeline, project: Path, runs: Runs
) -> None:
    write_pipeline([make_step("a", "a.py", [])], {"a.py": "print('before')\n1 / 0\n"})
    assert runs().state == RunState.FAILURE
    (execution,) = runs.ledger.executions("run1", "a")
    assert not execution.success and "ZeroDivisionError" in execution.traceback
    assert "before" in execution.stdout and execution.error
    again = runs()
    assert again.reasons("a") == ("not run before",)
    record = runs.ledger.get("run2", "a")
    assert record is not None and record.state == "FAILURE"


def test_identical_outputs_are_stored_once(
    write_pipeline: WritePipeline, project: Path, runs: Runs
) -> None:
    write_pipeline(
        [make_step("a", "a.py", []), make_step("b", "b.py", [])],
        {"a.py": script(7), "b.py": script(7) + "print('another step')\n"},
    )
    runs()
    usage = runs.cache.usage()
    # Two entries, each with an output and a log: the logs differ, the outputs do not.
    assert usage.entries == 2
    assert usage.objects == 3


def test_the_least_recently_used_entries_go_past_the_size_limit(tmp_path: Path) -> None:
    cache = StepCache(tmp_path / "cache", max_bytes=2500)
    files = {}
    for name in "abc":
        files[name] = tmp_path / name
        files[name].write_bytes(name.encode() * 1000)
    for name in "ab":
        cache.store(
            key=name,
            static_key=name,
            step_uuid=name,
            run_id="r",
            files={name: files[name]},
            details={},
        )
    assert cache.lookup("a") is not None  # a is now used more recently than b
    cache.store(
        key="c", static_key="c", step_uuid="c", run_id="r", files={"c": files["c"]}, details={}
    )
    assert cache.lookup("b") is None
    assert cache.lookup("a") is not None and cache.lookup("c") is not None
    assert cache.usage().bytes == 2000
    objects = tmp_path / "cache" / "objects"
    assert len([path for path in objects.rglob("*") if path.is_file()]) == 2
    assert cache.clear().entries == 2
    assert cache.usage() == type(cache.usage())(0, 0, 0)
    assert not any(path.is_file() for path in objects.rglob("*"))


def test_an_evicted_result_is_computed_again_and_says_so(
    write_pipeline: WritePipeline, project: Path, runs: Runs
) -> None:
    chain_of_scripts(write_pipeline)
    runs()
    runs.cache.clear()
    again = runs()
    assert again.computed == {"a", "b", "c", "d"}
    assert again.reasons("a") == ("its cached result is gone (evicted or cleared)",)


class Announcing(LocalExecutor):
    """A local executor that notes which steps it was told to expect."""

    def __init__(self) -> None:
        super().__init__(grace_period=1.0)
        self.announced: list[str] = []

    def expect(self, tasks: list[StepTask]) -> None:
        self.announced += [task.step_uuid for task in tasks]
        super().expect(tasks)


def test_steps_that_will_be_restored_get_no_kernel_started_ahead(
    write_pipeline: WritePipeline, project: Path, runs: Runs
) -> None:
    chain_of_scripts(write_pipeline)
    first = Announcing()
    runs(executor=first)
    assert sorted(first.announced) == ["a", "b", "c", "d"]
    unchanged = Announcing()
    runs(executor=unchanged)
    assert unchanged.announced == []
    # b changes: it is not foreseen, but once it runs its child is announced.
    (project / "b.py").write_text(script(30))
    changed = Announcing()
    assert runs(executor=changed).computed == {"b", "c"}
    assert changed.announced == ["c"]


def test_a_restored_flood_replays_only_the_end_of_its_log(
    write_pipeline: WritePipeline, project: Path, runs: Runs
) -> None:
    line = "é" + "x" * 98 + "\n"  # 101 bytes
    write_pipeline(
        [make_step("a", "a.py", [])],
        {"a.py": f"for n in range(30_000):\n    print({line[:-1]!r}, n)\nprint('the end')"},
    )
    runs()
    assert runs().cached == {"a"}
    log = (project / ".orchest/pipelines/pipeline-1/runs/run2/logs/a.log").read_bytes()
    first = (project / ".orchest/pipelines/pipeline-1/runs/run1/logs/a.log").read_bytes()
    note, left_out, tail = log.split(b"\n", 2)
    assert note.startswith(b"[restored from the cache")
    assert left_out == f"[{len(first) - len(tail)} bytes left out]".encode()
    assert first.endswith(tail) and tail.endswith(b"the end\n") and len(tail) <= 1 << 20
