import json
import statistics

from harness import incremental
from harness.incremental import PhaseTiming
from harness.report import Results

from jupyter_orchest.pipeline import ensure_valid, parse_definition


def test_the_orchest_chain_is_valid_and_passes_each_value_on(tmp_path) -> None:
    pipeline = incremental.write_orchest_project(tmp_path)
    definition = parse_definition(pipeline.read_text())
    ensure_valid(definition, pipeline_dir=str(tmp_path))
    steps = list(definition["steps"].values())
    assert len(steps) == incremental.LENGTH
    assert all(step["parameters"] == {"value": 1} for step in steps)
    assert [len(step["incoming_connections"]) for step in steps] == [0] + [1] * 9
    source = json.loads((tmp_path / "step05.ipynb").read_text())["cells"][1]["source"]
    assert "orchest.output(total" in "".join(source)
    # The warm-up pipeline's steps are other steps, which the cache cannot confuse.
    other = parse_definition(incremental.write_orchest_project(tmp_path, "-x").read_text())
    assert not set(other["steps"]) & set(definition["steps"])


def test_ploomber_gets_the_changed_value_in_its_pipeline(tmp_path) -> None:
    incremental.write_ploomber_project(tmp_path, changed_value=2)
    text = (tmp_path / "pipeline.yaml").read_text()
    assert text.count("params: {value: 2}") == 1 and text.count("params: {value: 1}") == 9
    step05 = text.split('name: "step05"')[1].split("name:")[0]
    assert "value: 2" in step05


def test_each_phase_must_run_exactly_its_steps() -> None:
    assert incremental.expected_runs("unchanged") == incremental.expected_runs("settled") == []
    assert incremental.expected_runs("param") == [f"step{n:02d}" for n in range(5, 11)]
    good = {
        phase: PhaseTiming(1.0, incremental.expected_runs(phase)) for phase in incremental.PHASES
    }
    rows = incremental.rows_for(incremental.SERVER, [good], "commit x", "2026-01-01")
    assert [row.status for row in rows] == ["ok"] * 4
    assert rows[3].note == "steps 5 to 10"
    bad = dict(good, unchanged=PhaseTiming(1.0, ["step01"]))
    rows = incremental.rows_for(incremental.CLI, [bad], "commit x", "2026-01-01")
    assert rows[1].status == "failed" and rows[1].note == "expected none, ran step 1"


def test_the_report_gives_the_rerun_as_a_share_of_the_first_run() -> None:
    timings = {"first": 2.0, "unchanged": 0.1, "settled": 0.08, "param": 1.0}
    runs = [
        {phase: PhaseTiming(seconds, incremental.expected_runs(phase))}
        for phase, seconds in timings.items()
    ]
    merged = {k: v for run in runs for k, v in run.items()}
    results = Results(rows=incremental.rows_for(incremental.SERVER, [merged], "c", "d"))
    text = incremental.render(results)
    assert "| 2.00 s | 0.10 s | 0.08 s | 1.00 s | 5.0 %; 4.0 % | steps 5 to 10 |" in text
    assert statistics.median([0.1]) == 0.1
    readme = incremental.replace_section("# Bench\n", text)
    assert incremental.replace_section(readme, "new\n").count(incremental.START_MARKER) == 1
