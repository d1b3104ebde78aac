"""`jupyter orchest run`, as a user runs it from a terminal."""

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from support import EXAMPLE_PROJECT, make_step, pipeline_writer

JUPYTER = Path(sys.executable).parent / "jupyter"


def orchest(*args: str) -> subprocess.CompletedProcess[str]:
    # Steps run with this Python's kernels: tests of environments turn them on themselves.
    if args[:1] == ("run",):
        args = (*args, "--environment-backend", "none")
    return subprocess.run(
        [str(JUPYTER), "orchest", *args], capture_output=True, text=True, timeout=180
    )


def test_runs_the_example_project_and_prints_a_summary(tmp_path: Path) -> None:
    project = tmp_path / "quickstart"
    shutil.copytree(EXAMPLE_PROJECT, project)
    done = orchest("run", str(project / "quickstart.orchest"), "--param", "Clean.low=0")
    assert done.returncode == 0, done.stdout + done.stderr
    for title in ("Get data", "Clean", "Summarize", "Report"):
        assert f"COMPUTED  {title}" in done.stdout
    assert "Run SUCCESS." in done.stdout
    summary = nbformat.read(project / "summarize.ipynb", as_version=4)
    outputs = [out for cell in summary.cells for out in cell.get("outputs", [])]
    assert any("s0" in str(out) for out in outputs)  # the per-sensor averages


def test_a_failing_step_exits_non_zero_and_shows_why(tmp_path: Path) -> None:
    pipeline = pipeline_writer(tmp_path)(
        [make_step("a", "a.py", []), make_step("b", "b.py", ["a"])],
        {"a.py": "print('checking')\nraise SystemExit('the input is empty')", "b.py": ""},
    )
    done = orchest("run", str(pipeline))
    assert done.returncode == 1
    assert "FAILURE   A" in done.stdout and "the input is empty" in done.stdout
    assert "ABORTED   B" in done.stdout
    assert "Traceback" not in done.stderr


def test_bad_input_exits_2_with_a_message(tmp_path: Path) -> None:
    pipeline = pipeline_writer(tmp_path)([make_step("a", "a.py", [])], {"a.py": ""})
    cases = [
        (["run", str(tmp_path / "nope.orchest")], "Cannot read"),
        (["run", str(pipeline), "--steps", "Zeta"], "no step 'Zeta'"),
        (["run", str(pipeline), "--param", "oops"], "[STEP.]KEY=VALUE"),
        (["run", str(pipeline), "--param", "Zeta.x=1"], "no step 'Zeta'"),
    ]
    for args, message in cases:
        done = orchest(*args)
        assert done.returncode == 2, args
        assert message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
    (tmp_path / "bad.orchest").write_text("{")
    done = orchest("run", str(tmp_path / "bad.orchest"))
    assert done.returncode == 2 and "invalid-json" in done.stderr


def test_a_damaged_database_exits_2_naming_it(tmp_path: Path) -> None:
    pipeline = pipeline_writer(tmp_path)([make_step("a", "a.py", [])], {"a.py": ""})
    database = tmp_path / "orchest.db"
    database.write_bytes(b"this is no database" * 100)
    done = orchest("run", str(pipeline), "--database-url", f"sqlite:///{database}")
    assert done.returncode == 2
    assert f"error: The database {database} is damaged" in done.stderr
    assert "Traceback" not in done.stderr
