"""A step that prints a flood: the server's memory and the notebook it writes.

    python bench/flood.py [--megabytes 200] [--no-papermill] [--source DIR] [--no-write]

Starts a Jupyter server with the extension (steps with the server's own kernels), runs a
notebook step and a script step that each print `--megabytes` MB while one events client
reads and another never does, and samples the server's resident memory (see
harness/flood.py). papermill runs the same notebook beside it (its environment is made with
uv in the cache folder, once). `--source DIR` runs the server with `jupyter_orchest` imported
from DIR instead, e.g. an older commit (`git archive COMMIT jupyter_orchest orchest | tar -x
-C DIR`), to compare. Writes bench/flood_results.json and a section of bench/README.md.
"""

import argparse
import datetime
import json
import os
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

from harness import envs, report
from harness.flood import GOAL_MB, FloodFigures, measure_papermill, measure_server
from run import DEFAULT_CACHE, _default_jupyter, _default_uv, describe_checkout

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "flood_results.json"
START = "<!-- bench:flood:start -->"
END = "<!-- bench:flood:end -->"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=int, default=200, help="what each step prints")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per run")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("JUPYTER_ORCHEST_BENCH_CACHE", DEFAULT_CACHE)),
        help="folder for papermill's environment and the runs",
    )
    parser.add_argument("--jupyter", default=_default_jupyter(), help="the `jupyter` to run")
    parser.add_argument("--uv", default=_default_uv(), help="the uv executable")
    parser.add_argument("--python", default=sys.executable, help="papermill's interpreter")
    parser.add_argument("--no-papermill", action="store_true", help="measure the server only")
    parser.add_argument(
        "--source", type=Path, help="import jupyter_orchest from this folder in the server"
    )
    parser.add_argument("--no-write", action="store_true", help="print the results only")
    return parser.parse_args(argv)


def render(data: dict[str, object]) -> str:
    """The README section: one row per measured step, against the goal."""
    megabytes = data["megabytes"]
    lines = [
        f"**flood**: a step printing {megabytes} MB, with one events client reading and one "
        f"stalled; resident memory in MB. Goal: the server's peak under {GOAL_MB} MB over "
        "its idle memory.",
        "",
        "| what ran | idle | peak | peak over idle | after the run, over idle | notebook written "
        "| reading the whole log: peak over idle | run time | version |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in data["rows"]:  # type: ignore[attr-defined]
        idle = row["idle"]
        notebook = f"{row['notebook_mb']:.1f} MB" if row["notebook_mb"] is not None else "-"
        lines.append(
            f"| {row['label']} | {_mb(idle)} | {_mb(row['peak'])} | "
            f"{_over(row['peak'], idle)} | {_over(row['after'], idle)} | {notebook} | "
            f"{_over(row['log_read_peak'], idle)} | {row['seconds']:.1f} s | {row['version']} |"
        )
    lines += ["", f"Measured {data['measured']} on {data['machine']}."]
    return "\n".join(lines) + "\n"


def _mb(value: float | None) -> str:
    return f"{value:.0f}" if value is not None else "-"


def _over(value: float | None, idle: float | None) -> str:
    return f"{value - idle:+.0f}" if value is not None and idle is not None else "-"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runs = args.cache / "runs" / "flood"
    shutil.rmtree(runs, ignore_errors=True)
    extra_env = {"PYTHONPATH": str(args.source.resolve())} if args.source else None
    version = f"files of {args.source}" if args.source else describe_checkout()
    rows = [
        {
            **asdict(figures),
            "label": f"jupyter-orchest server, {figures.kind} step",
            "version": version,
        }
        for figures in measure_server(
            args.jupyter, runs / "server", args.megabytes, args.timeout, extra_env
        )
    ]
    if not args.no_papermill:
        rows.append(papermill_row(args, runs / "papermill"))
    data = {
        "megabytes": args.megabytes,
        "machine": report.describe_machine(),
        "measured": datetime.date.today().isoformat(),
        "rows": rows,
    }
    section = render(data)
    print("\n" + section)
    if not args.no_write:
        RESULTS.write_text(json.dumps(data, indent=2) + "\n")
        readme = BENCH_DIR / "README.md"
        readme.write_text(report.replace_section(readme.read_text(), section, START, END))
        print(f"wrote {RESULTS.name} and README.md")
    return 0


def papermill_row(args: argparse.Namespace, run_dir: Path) -> dict[str, object]:
    environments = envs.Environments(args.cache / "envs", uv=args.uv, python=args.python)
    install = environments.existing(envs.PAPERMILL) or environments.make(envs.PAPERMILL)
    if not install.ok:
        raise RuntimeError(f"papermill could not be installed: {install.error}")
    figures: FloodFigures = measure_papermill(
        environments.bin(envs.PAPERMILL, "papermill"), run_dir, args.megabytes, args.timeout
    )
    version = f"papermill {install.versions.get('papermill', '?')}"
    return {**asdict(figures), "label": "papermill (its own process)", "version": version}


if __name__ == "__main__":
    sys.exit(main())
