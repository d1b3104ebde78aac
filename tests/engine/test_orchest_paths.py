"""Where mount namespaces cannot be made, a run whose steps mention /data or /project-dir is
refused before anything runs, naming the files and lines and saying what to do."""

import json
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from jupyter_orchest.engine.events import NoOpObserver, StepChanged
from jupyter_orchest.engine.executors import LocalExecutor, mount_namespace
from jupyter_orchest.engine.launch import RunLayout, prepare_run
from jupyter_orchest.engine.model import RunState, StepState
from jupyter_orchest.engine.orchest_paths import mentions
from jupyter_orchest.engine.planning import RunType, plan_run
from jupyter_orchest.pipeline import parse_definition
from support import WritePipeline, make_step

SCRIPT = """\
# Orchest keeps data in /data: this comment is no use of it
import os
DATA = "/data"
path = os.path.join("/home/me/data", "x")  # not Orchest's
other = "/datasets/x", "/data.csv", "https://example.org/data/x"
with open(f"/data/{name}", "w") as file:
    print(open('/project-dir/y').read(), file=file)
"""


def test_mentions_are_paths_that_start_with_orchests_folders(tmp_path: Path) -> None:
    script = tmp_path / "step.py"
    script.write_text(SCRIPT)
    assert [str(mention) for mention in mentions(script)] == [
        'line 3: DATA = "/data"',
        'line 6: with open(f"/data/{name}", "w") as file:',
        "line 7: print(open('/project-dir/y').read(), file=file)",
    ]


def test_a_notebooks_mentions_are_in_its_code_cells(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    notebook.cells = [
        nbformat.v4.new_markdown_cell("Data lives in /data"),  # type: ignore[no-untyped-call]
        nbformat.v4.new_code_cell("import os\n!ls /data"),  # type: ignore[no-untyped-call]
        nbformat.v4.new_code_cell("fetch(data_home='/data')"),  # type: ignore[no-untyped-call]
    ]
    path = tmp_path / "step.ipynb"
    path.write_text(nbformat.writes(notebook))  # type: ignore[no-untyped-call]
    assert [str(mention) for mention in mentions(path)] == [
        "cell 2, line 2: !ls /data",
        "cell 3, line 1: fetch(data_home='/data')",
    ]
    path.write_text("{not json")
    assert mentions(path) == []  # the step fails on that, and says why


@pytest.fixture
def namespaces_off(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(mount_namespace.SWITCH, "off")
    mount_namespace.unavailable.cache_clear()
    yield
    monkeypatch.undo()
    mount_namespace.unavailable.cache_clear()


class Changes(NoOpObserver):
    def __init__(self) -> None:
        self.steps: dict[str, StepChanged] = {}

    def step_changed(self, event: StepChanged) -> None:
        self.steps[event.step_uuid] = event


async def run(pipeline: Path) -> tuple[RunState, Changes]:
    definition = parse_definition(pipeline.read_text())
    project = pipeline.parent
    layout = RunLayout.interactive(project, pipeline, definition["uuid"], "run", project / "data")
    changes = Changes()
    async with LocalExecutor(pool_size=0, standby_kernels=0) as executor:
        runner = prepare_run(
            definition=definition,
            plan=plan_run(definition, pipeline, RunType.ALL, None),
            layout=layout,
            executor=executor,
            observer=changes,
            parallelism=2,
        )
        return await runner.run(), changes


@pytest.mark.usefixtures("namespaces_off", "host_orchest_paths")
async def test_a_run_that_would_need_them_is_refused_before_anything_runs(
    write_pipeline: WritePipeline, project: Path
) -> None:
    pipeline = write_pipeline(
        [
            make_step("first", "first.py", []),
            make_step("uses", "uses.py", ["first"]),
            make_step("aside", "aside.py", []),
        ],
        {
            "first.py": "open('ran', 'w').write('first')\n",
            "uses.py": "import json\njson.dump({}, open('/data/x', 'w'))\n",
            "aside.py": "open('ran-aside', 'w').write('aside')\n",
        },
    )
    state, changes = await run(pipeline)
    assert state == RunState.FAILURE
    states = {uuid: (event.state, event.message) for uuid, event in changes.steps.items()}
    assert (
        states["first"] == states["aside"] == (StepState.ABORTED, "Not run: Uses cannot run here.")
    )
    assert states["uses"][0] == StepState.FAILURE
    assert states["uses"][1].startswith(
        "uses.py uses /data or /project-dir, which steps cannot see on this machine "
        "(mount namespaces are not available: turned off by "
        f"{mount_namespace.SWITCH}=off):\n  line 2: json.dump({{}}, open('/data/x', 'w'))\n"
    )
    assert "or run the pipeline with the Docker backend" in states["uses"][1]
    assert not (project / "ran").exists() and not (project / "ran-aside").exists()


@pytest.mark.usefixtures("namespaces_off")
async def test_a_run_that_does_not_need_them_runs_as_it_always_did(
    write_pipeline: WritePipeline, project: Path
) -> None:
    pipeline = write_pipeline(
        [make_step("write", "write.py", [])],
        {
            "write.py": "import json, os\n"
            "json.dump('x', open(os.path.join(os.environ['ORCHEST_DATA_DIR'], 'x'), 'w'))\n"
        },
    )
    state, _ = await run(pipeline)
    assert state == RunState.SUCCESS
    assert json.loads((project / "data" / "x").read_text()) == "x"
