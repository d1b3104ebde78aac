"""A notebook cell that prints a flood, in a real kernel: the step's log gets all of it, the
notebook keeps the start of it and a line saying where the rest is."""

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_orchest.engine.executors import LocalExecutor
from jupyter_orchest.engine.model import OutputLimit, StepTask

MakeTask = Callable[..., StepTask]
LOG_FILE = ".orchest/pipelines/p/runs/r/logs/step.log"
LINE = "x" * 99 + "\n"


def limited(task: StepTask, limit: OutputLimit) -> StepTask:
    return dataclasses.replace(task, output_limit=limit, log_file=LOG_FILE)


def stream_texts(cell: dict[str, Any]) -> list[str]:
    return ["".join(out["text"]) for out in cell["outputs"] if out["output_type"] == "stream"]


async def test_a_cell_printing_20_mb_keeps_its_start_and_says_where_the_rest_is(
    tmp_path: Path, make_task: MakeTask, kit: Any
) -> None:
    path = tmp_path / "flood.ipynb"
    kit.write_notebook(
        path,
        [
            "import sys\nline = 'x' * 99\nfor _ in range(200_000):\n    print(line)\n"
            "print('to stderr', file=sys.stderr)\nprint('the end')",
            "print('the next cell keeps its own output')",
        ],
    )
    reporter = kit.Recorder()
    task = limited(make_task(path), OutputLimit(max_bytes=64 * 1024, max_lines=100_000))
    async with LocalExecutor(pool_size=0, standby_kernels=0) as executor:
        result = await executor.run_step(task, reporter)
    assert result.succeeded, result.message

    log = reporter.text("stdout")
    assert log.count(LINE) == 200_000 and "the end\n" in log  # the log has it all
    assert "to stderr" in reporter.text("stderr")
    assert path.stat().st_size < 100 * 1024
    flood, after = kit.read_notebook(path)["cells"]
    *kept, note = stream_texts(flood)
    assert "".join(kept) == LINE * (64 * 1024 // len(LINE))  # whole lines, within the limit
    assert note.startswith("[Output cut: the notebook keeps the first 100000 lines or 64.0 KiB")
    left_out = 200_000 * len(LINE) - len("".join(kept)) + len("to stderr\nthe end\n")
    assert f"{left_out / 1024**2:.1f} MiB more are in the step's log, {LOG_FILE}" in note
    assert "Show Logs" in note and flood["outputs"][-1]["name"] == "stdout"
    assert stream_texts(after) == ["the next cell keeps its own output\n"]


async def test_the_line_limit_and_a_cleared_output(
    tmp_path: Path, make_task: MakeTask, kit: Any
) -> None:
    path = tmp_path / "lines.ipynb"
    kit.write_notebook(
        path,
        [
            "for n in range(50):\n    print(n)",
            "from IPython.display import clear_output\n"
            "for n in range(50):\n    print(n)\nclear_output()\nprint('after clearing')",
        ],
    )
    task = limited(make_task(path), OutputLimit(max_bytes=1 << 20, max_lines=10))
    async with LocalExecutor(pool_size=0, standby_kernels=0) as executor:
        result = await executor.run_step(task, kit.Recorder())
    assert result.succeeded, result.message
    lines, cleared = kit.read_notebook(path)["cells"]
    *kept, note = stream_texts(lines)
    assert "".join(kept) == "".join(f"{n}\n" for n in range(10))
    assert "first 10 lines" in note and "120 bytes more" in note  # 10 to 49
    assert stream_texts(cleared) == ["after clearing\n"]  # what it printed before is gone
