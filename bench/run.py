"""Benchmark jupyter-orchest against the tools users would pick instead.

    python bench/run.py [--repeat N] [--only chain,fanout,quickstart,incremental] [--tools ...]

Makes one virtual environment per competitor with uv (in a cache folder outside the
repository), writes each workload in each tool's format, times each tool's command from start
to exit, and writes the results to bench/results.json and bench/README.md.
"""

import argparse
import datetime
import os
import re
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from harness import envs, incremental, report, tools, workloads
from harness.measure import Timing, log_tail, timed_run

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
EXAMPLE_PROJECT = REPO_DIR / "examples" / "quickstart"
DEFAULT_CACHE = Path("~/.cache/jupyter-orchest-bench").expanduser()
WORKLOADS = ("chain", "fanout", "quickstart", "incremental")
TOOLS = ("jupyter-orchest", "papermill", "elyra", "ploomber", "ploomber-parallel")
PLOOMBER_PROCESSES = 8
TELLING = re.compile(r"error|exception|could not|cannot|failed|timed out", re.IGNORECASE)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per tool and workload")
    parser.add_argument(
        "--warmup", type=int, default=1, help="untimed runs first (compile caches, disk caches)"
    )
    parser.add_argument(
        "--only",
        type=_names(WORKLOADS),
        default=list(WORKLOADS),
        help=f"workloads, comma-separated: {','.join(WORKLOADS)}",
    )
    parser.add_argument(
        "--tools",
        type=_names(TOOLS),
        default=list(TOOLS),
        help=f"tools, comma-separated: {','.join(TOOLS)}",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("JUPYTER_ORCHEST_BENCH_CACHE", DEFAULT_CACHE)),
        help="folder for the competitors' environments and the runs",
    )
    parser.add_argument(
        "--jupyter",
        default=_default_jupyter(),
        help="the `jupyter` that has jupyter-orchest (default: this Python's)",
    )
    parser.add_argument("--uv", default=_default_uv(), help="the uv executable")
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the interpreter the competitors' environments are made from",
    )
    parser.add_argument(
        "--reinstall",
        action="store_true",
        help="make the competitors' environments again, timing their install",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds allowed per run")
    parser.add_argument(
        "--keep-runs",
        action="store_true",
        help="keep every run's folder, not only those of failed runs",
    )
    parser.add_argument(
        "--no-write",
        action="store_true",
        help="print the results only; leave bench/results.json and README alone",
    )
    return parser.parse_args(argv)


def _names(allowed: tuple[str, ...]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        names = [name.strip() for name in text.split(",") if name.strip()]
        unknown = sorted(set(names) - set(allowed))
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown: {', '.join(unknown)}")
        return names

    return parse


def _default_jupyter() -> str | None:
    beside_python = Path(sys.executable).parent / "jupyter"
    if beside_python.is_file():
        return str(beside_python)
    return shutil.which("jupyter")


def _default_uv() -> str:
    beside_python = Path(sys.executable).parent / "uv"
    return str(beside_python) if beside_python.is_file() else (shutil.which("uv") or "uv")


def build_workloads(names: list[str]) -> list[workloads.Workload]:
    makers: dict[str, Callable[[], workloads.Workload]] = {
        "chain": workloads.chain,
        "fanout": workloads.fanout,
        "quickstart": lambda: workloads.quickstart(EXAMPLE_PROJECT),
    }
    return [makers[name]() for name in names if name in makers]


def build_tools(args: argparse.Namespace, results: report.Results) -> list[tools.Tool]:
    """The selected tools, installing the competitors' environments they need."""
    needed = {
        "papermill": envs.PAPERMILL,
        "elyra": envs.ELYRA,
        "ploomber": envs.PLOOMBER,
        "ploomber-parallel": envs.PLOOMBER,
    }
    environments = envs.Environments(args.cache / "envs", uv=args.uv, python=args.python)
    installs: dict[str, envs.Install] = {}
    for name in args.tools:
        spec = needed.get(name)
        if spec is None or spec.name in installs:
            continue
        existing = None if args.reinstall else environments.existing(spec)
        if existing is None:
            print(f"environment {spec.name}: installing {' '.join(spec.requirements)}", flush=True)
            install = environments.make(spec)
        else:
            print(f"environment {spec.name}: made earlier (--reinstall to make it again)")
            install = existing
        installs[spec.name] = install
        results.installs[spec.name] = install
        if install.ok:
            size = install.size_bytes / 2**20
            print(
                f"  {install.packages} packages, {size:.0f} MiB, installed in {install.seconds} s"
            )
        else:
            print(f"  install failed:\n{install.error}")

    def installed(spec: envs.EnvSpec) -> tools.Installed:
        install = installs[spec.name]
        if not install.ok:
            return tools.Installed(environments.path(spec), error=install.error.splitlines()[-1])
        main = spec.requirements[0]
        version = f"{main} {install.versions.get(main, '?')}"
        return tools.Installed(environments.path(spec), version=version)

    selected: list[tools.Tool] = []
    for name in args.tools:
        if name == "jupyter-orchest":
            environments_dir = EXAMPLE_PROJECT / ".orchest" / "environments"
            ours = tools.JupyterOrchest(args.jupyter, environments_dir, describe_checkout())
            selected.append(ours)
        elif name == "papermill":
            selected.append(tools.Papermill(installed(envs.PAPERMILL)))
        elif name == "elyra":
            selected.append(tools.Elyra(installed(envs.ELYRA)))
        else:
            processes = PLOOMBER_PROCESSES if name == "ploomber-parallel" else 0
            selected.append(tools.Ploomber(installed(envs.PLOOMBER), processes=processes))
    return selected


def describe_checkout() -> str:
    """The repository's commit, and whether the engine's code differs from it."""

    def git(*arguments: str) -> str:
        argv = ["git", "-C", str(REPO_DIR), *arguments]
        completed = subprocess.run(argv, capture_output=True, text=True, check=False)
        return completed.stdout.strip() if completed.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return ""
    changed = git("status", "--porcelain", "--", "jupyter_orchest", "orchest")
    return f"commit {commit}" + (" + uncommitted changes" if changed else "")


def run_once(
    tool: tools.Tool, workload: workloads.Workload, run_dir: Path, timeout: float
) -> tuple[Timing, str | None]:
    """One run in a fresh folder: its timing, and what went wrong in one line (None if
    nothing). A failed run's output is printed; it stays in `<run folder>.log`."""
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    command = tool.prepare(workload, run_dir)
    log_path = run_dir.with_suffix(".log")
    timing = timed_run(command, run_dir, log_path, timeout)
    if timing.timed_out or timing.returncode != 0:
        tail = log_tail(log_path)
        print(tail)
        reason = telling_line(tail)
        if timing.timed_out:
            return timing, f"timed out after {timeout:.0f} s: {reason}"
        return timing, f"exit code {timing.returncode}: {reason}"
    return timing, tool.check(workload, run_dir)


def telling_line(output: str) -> str:
    """The line of a failed run's output most likely to say why: the last that names an error,
    else the last."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    telling = [line for line in lines if TELLING.search(line)]
    return (telling or lines or [""])[-1]


def redact(text: str, cache: Path) -> str:
    """`text` without this machine's paths, which have no place in committed results."""
    for path, name in ((cache, "<cache>"), (REPO_DIR, "<repository>"), (Path.home(), "~")):
        text = text.replace(str(path), name)
    return text


def measure(
    workload: workloads.Workload, candidates: list[tools.Tool], args: argparse.Namespace
) -> list[report.Row]:
    """Time every tool on one workload. Repetitions go round the tools, so that a noisy moment
    on the machine spreads over all of them rather than falling on one."""
    today = datetime.date.today().isoformat()
    rows = {
        tool.name: report.Row(
            workload.name, tool.name, tool.label, "ok", version=tool.version, measured=today
        )
        for tool in candidates
    }
    active: list[tools.Tool] = []
    for tool in candidates:
        reason = tool.unavailable_reason()
        if reason is None:
            active.append(tool)
        else:
            rows[tool.name].status = "not available"
            rows[tool.name].note = redact(reason, args.cache)
            print(f"{workload.name:<10} {tool.name:<18} not available: {reason}")
    runs_dir = args.cache / "runs" / workload.name
    rounds = [("warm-up", index) for index in range(args.warmup)]
    rounds += [("run", index) for index in range(args.repeat)]
    for kind, index in rounds:
        for tool in list(active):
            run_dir = runs_dir / tool.name / f"{kind}-{index + 1}"
            timing, problem = run_once(tool, workload, run_dir, args.timeout)
            total = args.warmup if kind == "warm-up" else args.repeat
            verdict = "ok" if problem is None else "FAILED"
            load = "" if timing.other_load is None else f"  (other load {timing.other_load:.2f})"
            print(
                f"{workload.name:<10} {tool.name:<18} {kind} {index + 1}/{total} "
                f"{timing.seconds:7.1f} s  {verdict}{load}",
                flush=True,
            )
            if problem is not None:
                print(f"  {problem}\n  (run folder kept: {run_dir})")
                rows[tool.name].status = "failed"
                rows[tool.name].note = redact(problem, args.cache)
                rows[tool.name].seconds = []
                active.remove(tool)
                continue
            if kind == "run":
                rows[tool.name].seconds.append(round(timing.seconds, 2))
                if timing.other_load is not None:
                    rows[tool.name].other_load.append(round(timing.other_load, 2))
            if not args.keep_runs:
                shutil.rmtree(run_dir)
    return list(rows.values())


def measure_incremental(args: argparse.Namespace) -> list[report.Row]:
    """The incremental workload (see `harness.incremental`): each tool's three phases in a
    fresh folder per repetition, after an untimed warm-up repetition."""
    today = datetime.date.today().isoformat()
    version = describe_checkout()
    rows: list[report.Row] = []
    measurers: dict[str, Callable[[Path], dict[str, incremental.PhaseTiming]]] = {}
    if "jupyter-orchest" in args.tools and args.jupyter:
        jupyter = args.jupyter
        measurers[incremental.SERVER] = lambda run_dir: incremental.measure_server(
            jupyter, run_dir, args.timeout
        )
        measurers[incremental.CLI] = lambda run_dir: incremental.measure_command_line(
            incremental.cli_commands(jupyter, run_dir), run_dir, args.timeout
        )
    ploomber_version = ""
    if "ploomber" in args.tools:
        environments = envs.Environments(args.cache / "envs", uv=args.uv, python=args.python)
        install = environments.existing(envs.PLOOMBER) or environments.make(envs.PLOOMBER)
        if install.ok:
            venv = environments.path(envs.PLOOMBER)
            ploomber_version = f"ploomber {install.versions.get('ploomber', '?')}"
            measurers[incremental.PLOOMBER] = lambda run_dir: incremental.measure_command_line(
                incremental.ploomber_commands(venv, run_dir), run_dir, args.timeout
            )
    for tool, measure_phases in measurers.items():
        runs = []
        try:
            for index in range(args.warmup + args.repeat):
                run_dir = args.cache / "runs" / incremental.NAME / tool / f"run-{index + 1}"
                shutil.rmtree(run_dir, ignore_errors=True)
                run_dir.mkdir(parents=True)
                timings = measure_phases(run_dir)
                summary = "  ".join(
                    f"{phase} {timing.seconds:.2f} s ({len(timing.ran)} ran)"
                    for phase, timing in timings.items()
                )
                print(f"{incremental.NAME:<12} {tool:<24} {summary}", flush=True)
                if index >= args.warmup:
                    runs.append(timings)
                if not args.keep_runs:
                    shutil.rmtree(run_dir)
        except (RuntimeError, OSError) as error:
            print(f"{incremental.NAME:<12} {tool:<24} FAILED: {error}")
            rows.append(
                report.Row(
                    f"{incremental.NAME}:first",
                    tool,
                    incremental.TOOL_LABELS[tool],
                    "failed",
                    note=redact(str(error), args.cache),
                    measured=today,
                )
            )
            continue
        tool_version = ploomber_version if tool == incremental.PLOOMBER else version
        rows += incremental.rows_for(tool, runs, tool_version, today)
    speeds = [incremental.hash_speed(args.cache / "hashing") for _ in range(args.repeat)]
    cached, from_disk, reading = (statistics.median(values) for values in zip(*speeds, strict=True))
    note = (
        f"{cached:,.0f} MB/s from the page cache; {from_disk:,.0f} MB/s from the disk, where "
        f"plainly reading the file runs at {reading:,.0f} MB/s"
    )
    print(f"{incremental.HASH_WORKLOAD:<12} {note}")
    rows.append(
        report.Row(
            incremental.HASH_WORKLOAD,
            incremental.HASH_TOOL,
            "BLAKE3",
            "ok",
            seconds=[round(2**30 / 1e6 / s[0], 3) for s in speeds],
            note=note,
            version=version,
            measured=today,
        )
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    fresh = report.Results(machine=report.describe_machine())
    candidates = build_tools(args, fresh)
    for workload in build_workloads(args.only):
        fresh.workloads[workload.name] = workload.description
        fresh.rows += measure(workload, candidates, args)
    if incremental.NAME in args.only:
        fresh.rows += measure_incremental(args)

    results_path = BENCH_DIR / "results.json"
    results = report.Results() if args.no_write else report.Results.load(results_path)
    results.merge(fresh)
    tables = report.render_tables(results, list(WORKLOADS), list(TOOLS))
    print("\n" + tables + "\n" + incremental.render(results))
    if not args.no_write:
        results.save(results_path)
        readme = BENCH_DIR / "README.md"
        current = readme.read_text() if readme.is_file() else "# Benchmarks\n"
        current = report.replace_section(current, tables)
        readme.write_text(incremental.replace_section(current, incremental.render(results)))
        print(f"wrote {results_path.relative_to(REPO_DIR)} and {readme.relative_to(REPO_DIR)}")
    failed = [row for row in fresh.rows if row.status == "failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
