"""Running one command the way a user would, timing it from start to exit."""

import contextlib
import os
import resource
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .tools import Command

PROC_STAT = Path("/proc/stat")


@dataclass(frozen=True)
class Timing:
    seconds: float
    returncode: int
    timed_out: bool = False
    other_load: float | None = None
    """How many cores other processes kept busy, on average, while the command ran."""


def busy_cpu_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (Linux), or None."""
    if not PROC_STAT.is_file():
        return None
    fields = PROC_STAT.read_text().splitlines()[0].split()[1:]
    # user nice system idle iowait irq softirq steal ...: all but idle and iowait are busy.
    ticks = [int(value) for value in fields]
    busy = sum(ticks) - ticks[3] - (ticks[4] if len(ticks) > 4 else 0)
    return busy / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(command: Command, cwd: Path, log_path: Path, timeout: float) -> Timing:
    """Run `command` in `cwd`, its output going to `log_path`; wall time includes start-up.

    Also estimates what else the machine was doing meanwhile: the machine's busy CPU time less
    the command's own (its processes, kernels included, once they are reaped)."""
    with log_path.open("wb") as log:
        machine_before, ours_before = busy_cpu_seconds(), children_cpu_seconds()
        started = time.perf_counter()
        process = subprocess.Popen(
            command.argv,
            cwd=cwd,
            env=command.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_tree(process.pid)
            process.wait()
            return Timing(time.perf_counter() - started, returncode=-1, timed_out=True)
        seconds = time.perf_counter() - started
        machine_after, ours_after = busy_cpu_seconds(), children_cpu_seconds()
    other_load = None
    if machine_before is not None and machine_after is not None:
        others = (machine_after - machine_before) - (ours_after - ours_before)
        other_load = max(0.0, others) / seconds
    return Timing(seconds, returncode, other_load=other_load)


def descendants(pid: int) -> list[int]:
    """The processes started, directly or not, by `pid` (Linux; elsewhere none are found).
    Kernels run in sessions of their own, so a process group would miss them."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name, in parentheses, may hold spaces: fields start after it.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def kill_tree(pid: int) -> None:
    """Kill a timed-out command and everything it started, kernels included."""
    for target in [pid, *descendants(pid)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, signal.SIGKILL)


def log_tail(log_path: Path, lines: int = 20) -> str:
    text = log_path.read_text(errors="replace") if log_path.is_file() else ""
    return "\n".join(text.strip().splitlines()[-lines:])
