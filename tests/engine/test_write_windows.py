"""Whose a file is, by when it was written: the registry of the windows in which steps
executed, with moments set by hand (the engine's runs test the same with real steps)."""

from pathlib import Path

from jupyter_orchest.engine.output_patterns import NO_PATTERNS
from jupyter_orchest.engine.write_windows import CLOCK_SLACK_NS, Window, WriteWindows

MS = 1_000_000
PROJECT = Path("/projects/p")


def window_at(windows: WriteWindows, title: str, start_ms: int, end_ms: int | None) -> Window:
    window = windows.open(title, "run", (PROJECT, PROJECT / "data"), NO_PATTERNS)
    window.start_ns, window.end_ns = start_ms * MS, end_ms * MS if end_ms is not None else None
    return window


def titles(windows: WriteWindows, moment_ms: float, path: Path = PROJECT / "f") -> list[str]:
    return [w.title for w in windows.writers_at(path, int(moment_ms * MS))]


def test_a_file_written_while_one_step_executed_is_that_steps() -> None:
    windows = WriteWindows()
    window_at(windows, "A", 1000, 2000)
    window_at(windows, "B", 1500, 3000)
    assert titles(windows, 1200) == ["A"]
    assert titles(windows, 1700) == ["A", "B"]
    assert titles(windows, 2500) == ["B"]
    assert titles(windows, 3500) == []
    assert titles(windows, 1700, Path("/elsewhere/f")) == []


def test_a_parents_last_write_is_not_its_childs_although_the_child_reaches_back() -> None:
    assert CLOCK_SLACK_NS > 2 * MS
    windows = WriteWindows()
    window_at(windows, "parent", 1000, 2000)
    window_at(windows, "child", 2002, None)
    assert titles(windows, 1999) == ["parent"]
    # Before the child's start, in its margin, and in no other window: the child's.
    assert titles(windows, 2001) == ["child"]


def test_windows_are_forgotten_once_nothing_can_overlap_them() -> None:
    windows = WriteWindows()
    old = window_at(windows, "old", 1000, 2000)
    running = window_at(windows, "running", 5000, None)
    windows.release(old)
    assert titles(windows, 1500) == []  # it ended before anything still waiting began
    assert titles(windows, 6000) == ["running"]
    windows.release(running)
    assert running.end_ns is not None
