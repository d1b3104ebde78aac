"""The Ray benchmark's table (its runs need a Ray instance; the Ray executor's own tests
start one)."""

import ray_overhead
from docker_overhead import Row


def test_the_table_says_what_ray_adds_per_step() -> None:
    rows = [
        Row("chain", "warm", "local", 10, [1.0, 2.0, 3.0]),
        Row("chain", "warm", "ray", 10, [6.0, 7.0, 8.0]),
    ]
    table = ray_overhead.render(rows, "2 cores", "2026-01-01")
    assert "medians of 3 runs" in table
    row = "| chain (10 steps) | warm | 2.00 s | 7.00 s | 3.5x | 0.20 s | 0.70 s | 0.50 s |"
    assert row in table
