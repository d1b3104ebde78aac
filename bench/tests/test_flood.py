"""The flood benchmark's harness: its project, its memory sampling and its report (the
measuring itself needs a server and minutes: `python bench/flood.py`)."""

import json
import subprocess
import sys
from pathlib import Path

import flood
from harness import flood as harness

from jupyter_orchest.pipeline import ensure_valid, parse_definition


def test_the_project_has_a_valid_pipeline_per_kind_of_step(tmp_path: Path) -> None:
    pipelines = harness.write_project(tmp_path, megabytes=3)
    assert set(pipelines) == {"notebook", "script", "warm-up"}
    for pipeline in pipelines.values():
        ensure_valid(parse_definition(pipeline.read_text()), pipeline_dir="")
    printed = subprocess.run(
        [sys.executable, str(tmp_path / "flood.py")], capture_output=True, check=True
    ).stdout
    assert len(printed) == 3_000_000 and printed.count(b"\n") == 30_000
    cell = json.loads((tmp_path / "flood.ipynb").read_text())["cells"][0]
    assert "".join(cell["source"]) == (tmp_path / "flood.py").read_text()


def test_the_sampler_sees_a_process_grow() -> None:
    grows = "b = b'x' * 150_000_000\nimport time\ntime.sleep(1)"
    process = subprocess.Popen([sys.executable, "-c", grows])
    with harness.PeakSampler(process.pid).sampling() as sampler:
        process.wait()
    assert sampler.peak > 150  # a Python that allocated nothing has about 10 MB


def test_the_report_gives_each_figure_over_the_idle_server() -> None:
    server = harness.FloodFigures(
        "notebook",
        peak=250.0,
        seconds=12.0,
        idle=110.0,
        after=120.5,
        notebook_mb=0.52,
        log_mb=200.0,
        log_read_peak=118.0,
    )
    papermill = harness.FloodFigures("notebook", peak=2400.0, seconds=60.0, notebook_mb=222.0)
    rows = [
        {**vars(server), "label": "jupyter-orchest server, notebook step", "version": "commit x"},
        {**vars(papermill), "label": "papermill (its own process)", "version": "papermill 2"},
    ]
    data = {"megabytes": 200, "machine": "2 cores", "measured": "2026-01-01", "rows": rows}
    table = flood.render(data)
    assert (
        "| jupyter-orchest server, notebook step | 110 | 250 | +140 | +10 | 0.5 MB | +8 |" in table
    )
    assert "| papermill (its own process) | - | 2400 | - | - | 222.0 MB | - | 60.0 s |" in table
    assert "under 200 MB over its idle memory" in table
