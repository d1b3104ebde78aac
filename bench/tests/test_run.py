"""The harness's own loop, with a stand-in tool: a few short Python processes."""

import os
import sys
import time
from pathlib import Path

import run
from harness import tools, workloads
from harness.measure import timed_run


class FakeTool:
    """Writes the chain's markers itself; or fails, when told to."""

    name = "fake"
    label = "fake tool"
    version = "fake 1.0"

    def __init__(self, exit_code: int = 0) -> None:
        self.exit_code = exit_code

    def unavailable_reason(self) -> str | None:
        return None

    def prepare(self, workload: workloads.Workload, run_dir: Path) -> tools.Command:
        names = [step.name for step in workload.steps]
        code = (
            "import os, pathlib, sys\n"
            f"for name in {names!r}:\n"
            f"    p = pathlib.Path({workloads.MARKER_DIR!r}) / name\n"
            "    p.parent.mkdir(exist_ok=True)\n"
            "    p.write_text(name)\n"
            f"sys.exit({self.exit_code})\n"
        )
        return tools.Command([sys.executable, "-c", code], dict(os.environ))

    def check(self, workload: workloads.Workload, run_dir: Path) -> str | None:
        return tools.check_outputs(workload, run_dir)


def _args(tmp_path: Path, *extra: str) -> run.argparse.Namespace:
    return run.parse_args(["--cache", str(tmp_path), "--repeat", "2", "--warmup", "1", *extra])


def test_measure_records_each_timed_run(tmp_path) -> None:
    (row,) = run.measure(workloads.chain(length=2), [FakeTool()], _args(tmp_path))
    assert row.status == "ok"
    assert len(row.seconds) == 2
    assert not list((tmp_path / "runs" / "chain" / "fake").glob("run-*/")), "cleaned up"


def test_a_failed_run_stops_that_tool_and_keeps_its_folder(tmp_path) -> None:
    (row,) = run.measure(workloads.chain(length=2), [FakeTool(exit_code=3)], _args(tmp_path))
    assert row.status == "failed"
    assert row.note.startswith("exit code 3")
    assert (tmp_path / "runs" / "chain" / "fake" / "warm-up-1").is_dir()


def test_timed_run_reports_the_exit_code(tmp_path) -> None:
    command = tools.Command([sys.executable, "-c", "print('hi'); raise SystemExit(4)"], {})
    timing = timed_run(command, tmp_path, tmp_path / "out.log", timeout=60)
    assert timing.returncode == 4 and not timing.timed_out
    assert (tmp_path / "out.log").read_text().strip() == "hi"


def test_redact_hides_this_machines_paths(tmp_path) -> None:
    text = f"{run.REPO_DIR}/x.py and {tmp_path}/runs"
    assert run.redact(text, tmp_path) == "<repository>/x.py and <cache>/runs"


def test_names_are_checked() -> None:
    parse = run._names(("a", "b"))
    assert parse("a, b") == ["a", "b"]
    try:
        parse("a,c")
    except run.argparse.ArgumentTypeError as error:
        assert "c" in str(error)
    else:
        raise AssertionError("an unknown name was accepted")


def test_timed_run_estimates_what_else_the_machine_did(tmp_path) -> None:
    command = tools.Command([sys.executable, "-c", "pass"], dict(os.environ))
    timing = timed_run(command, tmp_path, tmp_path / "out.log", timeout=60)
    if Path("/proc/stat").is_file():
        assert timing.other_load is not None and timing.other_load >= 0


def test_telling_line_prefers_the_reason_to_the_last_line() -> None:
    output = "step a COMPUTED\n  the kernel could not start: no answer\nRun FAILURE.\nLogs: x\n"
    assert run.telling_line(output) == "the kernel could not start: no answer"
    assert run.telling_line("all fine\nbut exit 1\n") == "but exit 1"
    assert run.telling_line("") == ""


def test_a_run_that_hangs_is_killed_with_what_it_started(tmp_path) -> None:
    # The child starts a grandchild in a session of its own, as kernels are, and both hang.
    code = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'],"
        " start_new_session=True)\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    command = tools.Command([sys.executable, "-c", code], dict(os.environ))
    log = tmp_path / "out.log"
    timing = timed_run(command, tmp_path, log, timeout=3)
    assert timing.timed_out
    grandchild = int(log.read_text().split()[0])
    if Path("/proc").is_dir():
        deadline = time.monotonic() + 30
        while Path(f"/proc/{grandchild}").exists() and time.monotonic() < deadline:
            state = Path(f"/proc/{grandchild}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if state == "Z":  # killed, waiting for init to reap it
                break
            time.sleep(0.1)
        else:
            assert not Path(f"/proc/{grandchild}").exists()


def test_describe_checkout_names_a_commit() -> None:
    assert run.describe_checkout().startswith("commit ")
