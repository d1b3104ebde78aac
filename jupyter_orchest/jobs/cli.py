"""`jupyter orchest job ...`: jobs from a terminal. Jobs live in a running Jupyter server (its
scheduler fires them), so these commands talk to it over its authenticated REST API: the
server given by `--url` (with `--token` or $JUPYTER_TOKEN; pipeline paths are then relative to
the server's root folder), else the running server whose root folder holds the pipeline or
the current folder.
"""

import argparse
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from jupyter_core.paths import jupyter_runtime_dir

API = "orchest/api"
TIMEOUT = 60.0


class JobCommandError(Exception):
    """What went wrong, for the user; the command exits with 2."""


@dataclass(frozen=True)
class Server:
    url: str
    token: str
    root_dir: Path | None
    """None when unknown (given by --url): paths are then taken as the server's own."""


def add_job_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    job = commands.add_parser(
        "job",
        help="create and follow jobs in the running Jupyter server",
        description="Jobs: runs over a parameter grid, now or on a cron schedule.",
    )
    job.add_argument("--url", help="the server's URL (default: the running server)")
    job.add_argument("--token", help="the server's token (default: $JUPYTER_TOKEN)")
    job.add_argument("--json", action="store_true", help="print the server's JSON answer")
    actions = job.add_subparsers(dest="job_command", required=True)
    listing = actions.add_parser("list", help="the jobs, newest first")
    listing.add_argument("--pipeline", help="only this pipeline's jobs")
    create = actions.add_parser("create", help="create a job (it starts unless --draft)")
    create.add_argument("pipeline", help="the pipeline file (*.orchest)")
    create.add_argument("--name", help="the job's name (default: the pipeline's)")
    create.add_argument(
        "--values",
        action="append",
        default=[],
        metavar="[STEP.]KEY=JSON_LIST",
        help="the values a pipeline (KEY) or step (STEP.KEY) parameter takes, e.g. "
        "alpha='[0.1, 0.2]'; without any, the pipeline's parameters file or current values",
    )
    create.add_argument("--cron", help="a cron schedule, e.g. '0 6 * * 1-5'")
    create.add_argument("--timezone", default="UTC", help="the schedule's time zone")
    create.add_argument("--start-at", help="first run at, e.g. 2026-12-01T06:00:00+01:00")
    create.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="a variable for steps"
    )
    create.add_argument("--keep", type=int, default=0, help="finished runs kept (0: all)")
    create.add_argument("--draft", action="store_true", help="save without starting")
    for name, text in [
        ("show", "a job and its runs"),
        ("start", "start a draft"),
        ("pause", "stop making runs until resumed"),
        ("resume", "make runs again, from the next slot on"),
        ("cancel", "stop the job and abort its runs"),
        ("delete", "delete the job with its runs and their files"),
    ]:
        actions.add_parser(name, help=text).add_argument("job", help="the job's id")


def run_job_command(args: argparse.Namespace, out: TextIO) -> int:
    pipeline = getattr(args, "pipeline", None)
    server = find_server(args.url, args.token, Path(pipeline or ".").resolve())
    command = args.job_command
    if command == "list":
        query = {"pipeline": _api_path(server, args.pipeline)} if args.pipeline else {}
        answer = call(server, "GET", "jobs", query=query)
    elif command == "create":
        answer = call(server, "POST", "jobs", body=_job_body(server, args))
    elif command == "show":
        answer = call(server, "GET", f"jobs/{args.job}")
    elif command == "delete":
        call(server, "DELETE", f"jobs/{args.job}")
        print(f"Deleted job {args.job}.", file=out)
        return 0
    else:
        answer = call(server, "POST", f"jobs/{args.job}/{command}", body={})
    if args.json:
        print(json.dumps(answer, indent=2), file=out)
    elif command == "list":
        _print_jobs(answer["jobs"], out)
    else:
        _print_job(answer, out)
    return 0


def find_server(url: str | None, token: str | None, near: Path) -> Server:
    token = token or os.environ.get("JUPYTER_TOKEN", "")
    if url:
        return Server(url.rstrip("/") + "/", token, None)
    running = []
    for info_file in sorted(Path(jupyter_runtime_dir()).glob("jpserver-*.json")):
        try:
            info = json.loads(info_file.read_text(encoding="utf-8"))
            os.kill(int(info["pid"]), 0)
        except (OSError, ValueError, KeyError, TypeError):
            continue  # unreadable, or its server is gone
        running.append(Server(info["url"], token or info.get("token", ""), Path(info["root_dir"])))
    for server in running:
        if server.root_dir is not None and near.is_relative_to(server.root_dir.resolve()):
            return server
    if running:
        return running[0]
    raise JobCommandError(
        "No running Jupyter server was found: start one (e.g. `jupyter lab`) or give --url."
    )


def call(
    server: Server,
    method: str,
    path: str,
    body: Any = None,
    query: dict[str, str] | None = None,
) -> Any:
    url = urllib.parse.urljoin(server.url, f"{API}/{path}")
    if query:
        url += "?" + urllib.parse.urlencode(query)
    request = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"token {server.token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            text = response.read().decode()
    except urllib.error.HTTPError as error:
        raise JobCommandError(_server_message(error)) from None
    except (urllib.error.URLError, OSError) as error:
        raise JobCommandError(f"The server at {server.url} did not answer: {error}.") from None
    return json.loads(text) if text else None


def _server_message(error: urllib.error.HTTPError) -> str:
    if error.code == 403:
        return "The server refused the request: give its token with --token or $JUPYTER_TOKEN."
    try:
        message = json.loads(error.read().decode()).get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message or f"The server answered {error.code} {error.reason}.")


def _job_body(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    from ..cli import load_pipeline, parameter_overrides

    body: dict[str, Any] = {
        "pipeline_path": _api_path(server, args.pipeline),
        "cron": args.cron,
        "timezone": args.timezone,
        "start_at": args.start_at,
        "env_variables": dict(_assignment(text, "--env") for text in args.env),
        "max_retained_runs": args.keep,
        "draft": args.draft,
    }
    if args.name:
        body["name"] = args.name
    if args.values:
        # As `run --param`; the server says which values are not a list.
        definition, _ = load_pipeline(Path(args.pipeline).expanduser().resolve())
        body["parameters"] = parameter_overrides(definition, args.values, "--values")
    return body


def _assignment(text: str, option: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise JobCommandError(f"{option} '{text}' must look like NAME=VALUE.")
    return name, value


def _api_path(server: Server, given: str) -> str:
    if server.root_dir is None:
        return Path(given).as_posix()
    path = Path(given).expanduser().resolve()
    if not path.is_relative_to(server.root_dir.resolve()):
        raise JobCommandError(
            f"{path} is outside the server's root folder {server.root_dir}: "
            "start a server whose root folder holds it, or give --url."
        )
    return path.relative_to(server.root_dir.resolve()).as_posix()


def _print_jobs(jobs: list[dict[str, Any]], out: TextIO) -> None:
    if not jobs:
        print("No jobs.", file=out)
        return
    rows = [("ID", "STATUS", "SCHEDULE", "NEXT RUN", "NAME")] + [
        (
            job["id"],
            job["status"],
            f"{job['cron']} ({job['timezone']})" if job["cron"] else "-",
            job["next_fire_at"] or "-",
            job["name"],
        )
        for job in jobs
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[4]]), file=out)


def _print_job(job: dict[str, Any], out: TextIO) -> None:
    print(f"Job {job['id']} ({job['name']}): {job['status']}", file=out)
    if job.get("cron"):
        print(f"Schedule: {job['cron']} ({job['timezone']})", file=out)
    if job.get("next_fire_at"):
        print(f"Next run: {job['next_fire_at']}", file=out)
    for run in job.get("runs", []):
        print(
            f"  run {run['number']:>3}  {run['state']:<8}  {run['id']}  {run['folder']}", file=out
        )
