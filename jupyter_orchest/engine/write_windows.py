"""Who could have written a file: the windows of time in which steps executed, over every run
of this process (the server, or one command-line run), and the writes that were no step's.

A file's change time says when it was written, not by whom. When it falls in the window of one
executing step only, the file is that step's. When several steps that can write there executed
at that moment (parallel steps of a run, runs of a job sharing the data folder), it may be any
of them: the caller records it as shared with the others and never restores it as one step's
(see `caching`). Restoring steps do not execute, so they open no window; the files the engine
writes for them, and those JupyterLab saves for the user, are noted as nobody's, so that a step
executing meanwhile does not take them for its own.

Windows reach back `CLOCK_SLACK_NS` before their start: file times may come from the kernel's
coarse clock, which can lag the clock a window is read from by a tick (4 ms at 250 Hz). A time
in that margin that falls in another window itself is that window's: a child step often starts
within milliseconds of its parent's last write.
"""

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .hashing import file_identity
from .output_patterns import NO_PATTERNS, OutputPatterns

CLOCK_SLACK_NS = 10_000_000


@dataclass(eq=False)
class Window:
    """A step executing, from `start_ns` until `end_ns` (None while it executes)."""

    title: str
    run_id: str
    roots: tuple[Path, ...]
    """The resolved folders it can write to."""
    patterns: OutputPatterns = NO_PATTERNS
    start_ns: int = field(default_factory=time.time_ns)
    end_ns: int | None = None
    scanned: bool = False
    """Its files have been attributed: it need not be kept for itself any more."""

    def covers(self, moment_ns: int, slack_ns: int = CLOCK_SLACK_NS) -> bool:
        return self.start_ns - slack_ns <= moment_ns and (
            self.end_ns is None or moment_ns <= self.end_ns
        )

    def can_write(self, path: Path) -> bool:
        return any(path.is_relative_to(root) for root in self.roots)


class WriteWindows:
    """The registry of one process; its methods may be called from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: list[Window] = []
        self._foreign: dict[str, tuple[tuple[int, ...], int]] = {}
        """Files written by no step: path -> (identity after the write, when)."""

    def open(
        self, title: str, run_id: str, roots: tuple[Path, ...], patterns: OutputPatterns
    ) -> Window:
        window = Window(title, run_id, roots, patterns)
        with self._lock:
            self._windows.append(window)
        return window

    def close(self, window: Window) -> None:
        window.end_ns = time.time_ns()

    def release(self, window: Window) -> None:
        """The window's files are attributed (or will not be); forget what no later
        attribution needs."""
        with self._lock:
            if window.end_ns is None:
                window.end_ns = time.time_ns()
            window.scanned = True
            # A window opening now reaches back by the slack: keep what it may overlap.
            waiting = [w.start_ns for w in self._windows if not w.scanned]
            horizon = min([*waiting, time.time_ns()]) - CLOCK_SLACK_NS
            self._windows = [
                w for w in self._windows if not w.scanned or w.end_ns is None or w.end_ns >= horizon
            ]
            self._foreign = {
                path: noted for path, noted in self._foreign.items() if noted[1] >= horizon
            }

    def writers_at(self, path: Path, moment_ns: int) -> list[Window]:
        """The steps that may have written `path` at `moment_ns`: those executing then, or,
        when none was, those whose margin reaches it (see the module's docs)."""
        with self._lock:
            able = [window for window in self._windows if window.can_write(path)]
        strictly = [window for window in able if window.covers(moment_ns, slack_ns=0)]
        return strictly or [window for window in able if window.covers(moment_ns)]

    def note_foreign_write(self, path: Path) -> None:
        """`path` was just written by no step (the engine restoring a file, the user saving
        one): while steps execute, they must not take it for theirs."""
        with self._lock:
            if not self._windows:
                return
        try:
            identity = file_identity(os.stat(path, follow_symlinks=False))
            # As scans name it: from the resolved folders (a server's root may be a link).
            key = str(path.parent.resolve() / path.name)
        except OSError:
            return
        with self._lock:
            self._foreign[key] = (identity, time.time_ns())

    def is_foreign(self, path: Path, identity: tuple[int, ...]) -> bool:
        """Whether the file (named from the resolved folders) is as no step's write left it."""
        with self._lock:
            noted = self._foreign.get(str(path))
        return noted is not None and noted[0] == identity
