"""The mount namespace benchmark (namespace_overhead.py): its table, and a short run of it."""

import namespace_overhead as bench
import pytest

from jupyter_orchest.engine.executors import mount_namespace


def test_the_table_says_what_a_namespace_adds_to_each_start() -> None:
    rows = [
        bench.Row("script step", plain=[1.0, 2.0, 9.0], namespace=[3.0, 5.0, 4.0]),
        bench.Row("entering alone", namespace=[1.5, 1.0, 2.0]),
    ]
    table = bench.render(rows, "2 cores", "2026-01-01", 250, 0.5)
    assert "holding 250 MB" in table and "load average at 0.5; 3 starts" in table
    assert "| script step | 2.0 | 4.0 | +2.0 | 1.0 | 3.0 |" in table
    assert "| entering alone | - | 1.5 | +1.5 | - | 1.0 |" in table


@pytest.mark.skipif(bool(mount_namespace.unavailable()), reason=mount_namespace.unavailable())
def test_a_short_run_measures_every_start(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--repeat", "2", "--resident", "1", "--no-write"]) == 0
    table = capsys.readouterr().out
    for start in ("script step", "forked by the fork server", "jupyter_client", "alone"):
        assert start in table
