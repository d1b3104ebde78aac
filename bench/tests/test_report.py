from harness import report
from harness.envs import Install


def _results() -> report.Results:
    return report.Results(
        machine="2 cores",
        workloads={"chain": "a chain"},
        rows=[
            report.Row("chain", "jupyter-orchest", "jupyter-orchest", "ok", [2.0, 3.0, 4.0]),
            report.Row("chain", "papermill", "papermill (sequential)", "ok", [12.0, 9.0, 30.0]),
        ],
    )


def test_ratio_is_median_over_ours() -> None:
    results = _results()
    papermill = results.row("chain", "papermill")
    assert papermill is not None
    assert papermill.median == 12.0 and papermill.minimum == 9.0
    assert results.ratio(papermill) == 4.0


def test_tables_show_ratio_and_targets() -> None:
    text = report.render_tables(_results(), ["chain"], ["jupyter-orchest", "papermill"])
    assert "| papermill (sequential) | 12.0 s | 9.0 s | 3 | 4.0x |" in text
    assert "4.0x, met" in text
    assert "not measured yet" in text  # fanout


def test_ours_not_available_gives_no_ratio() -> None:
    results = _results()
    results.rows[0] = report.Row(
        "chain", "jupyter-orchest", "jupyter-orchest", "not available", note="no CLI yet"
    )
    papermill = results.row("chain", "papermill")
    assert papermill is not None and results.ratio(papermill) is None
    text = report.render_tables(results, ["chain"], ["jupyter-orchest", "papermill"])
    assert "| jupyter-orchest | not available |" in text
    assert "- jupyter-orchest: no CLI yet" in text


def test_merge_keeps_what_was_not_measured_again() -> None:
    results = _results()
    newer = report.Results(
        machine="2 cores",
        rows=[report.Row("chain", "jupyter-orchest", "jupyter-orchest", "ok", [1.0])],
        installs={"papermill": Install("papermill", ["papermill"], ok=True, packages=48)},
    )
    results.merge(newer)
    ours = results.row("chain", "jupyter-orchest")
    assert ours is not None and ours.seconds == [1.0]
    assert results.row("chain", "papermill") is not None
    assert results.installs["papermill"].packages == 48


def test_results_survive_a_round_trip(tmp_path) -> None:
    results = _results()
    results.installs["elyra"] = Install("elyra", ["elyra"], ok=False, error="no wheel")
    path = tmp_path / "results.json"
    results.save(path)
    loaded = report.Results.load(path)
    assert loaded.rows == results.rows
    assert loaded.installs == results.installs


def test_replace_section_is_idempotent() -> None:
    readme = "# Title\n\nprose\n"
    once = report.replace_section(readme, "table 1\n")
    assert once.startswith(readme.rstrip("\n"))
    twice = report.replace_section(once, "table 2\n")
    assert "table 1" not in twice and "table 2" in twice
    assert twice.count(report.START_MARKER) == 1
    assert report.replace_section(twice, "table 2\n") == twice
