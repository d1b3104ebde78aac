"""`%orchest`: work on a pipeline step from the step's own notebook.

Loaded with `%load_ext jupyter_orchest`. The magic runs in the kernel's environment, so it
needs only the standard library (and IPython, which runs it), and it talks to the Jupyter
server over its REST API, at the URL and with the token the server extension puts in the
environment of the kernels it starts.

    inputs = %orchest inputs        the step's inputs: its parents' last outputs
    %orchest run [--incoming|--all] run this step (with its ancestors, or the whole pipeline)
    %orchest status                 the pipeline's steps and their states in the last run
    %orchest params [KEY=VALUE ...] show, or set, this step's parameters
    %orchest use PIPELINE           choose the pipeline when the notebook is a step of several

Inside a pipeline run (the engine runs this very notebook) `inputs` returns the run's own
inputs and `run` does nothing, so a notebook that uses the magics runs unchanged as a step.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from . import environment as step_environment

SERVER_URL = "JUPYTER_ORCHEST_SERVER_URL"
SERVER_TOKEN = "JUPYTER_ORCHEST_SERVER_TOKEN"
ATTACHED = "JUPYTER_ORCHEST_ATTACHED_STEP"
"""Set by `%orchest inputs` when it makes this kernel act as a step (not a real run)."""
KERNEL_ARGUMENT = "--ext=jupyter_orchest"
"""Added to the command lines of environments' kernels: `%orchest` is there without
`%load_ext` (an extension that fails to load only warns; the kernel starts)."""
POLL_SECONDS = 0.3
FINISHED = ("SUCCESS", "FAILURE", "ABORTED")
LOG_TAIL_LINES = 20

USAGE = __doc__.split("\n\n")[2] if __doc__ else ""


class MagicError(Exception):
    """Something the user must fix, said in words; shown without a traceback."""


class ServerAPI:
    """The extension's REST API, with the credentials the server gave this kernel."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url.rstrip("/") + "/", token

    @classmethod
    def from_environment(cls) -> ServerAPI:
        url = os.environ.get(SERVER_URL)
        if not url:
            raise MagicError(
                "This kernel does not know the Jupyter server's address: start it from "
                "JupyterLab with the jupyter-orchest extension enabled (a kernel started "
                "before the extension was installed needs a restart)."
            )
        return cls(url, os.environ.get(SERVER_TOKEN, ""))

    def call(self, method: str, path: str, body: Any = None, **query: str) -> Any:
        url = self.url + "orchest/api/" + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        if self.token:
            request.add_header("Authorization", f"token {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                text = response.read().decode("utf-8")
                kind = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            raise MagicError(_error_message(error)) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise MagicError(f"Cannot reach the Jupyter server at {self.url}: {reason}.") from None
        return json.loads(text) if "json" in kind and text else text


def _error_message(error: urllib.error.HTTPError) -> str:
    if error.code == 403:
        return "The Jupyter server refused the kernel's credentials (403): restart the kernel."
    try:
        return str(json.loads(error.read().decode("utf-8"))["message"])
    except (ValueError, KeyError, TypeError):
        return f"The Jupyter server answered {error.code} {error.reason}."


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would end the kernel's process
        raise MagicError(f"{message}\n\n{USAGE}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="%orchest", add_help=False)
    parser.add_argument("--pipeline", help="the pipeline file, from the server's root")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    commands.add_parser("inputs")
    run = commands.add_parser("run")
    scope = run.add_mutually_exclusive_group()
    scope.add_argument("--incoming", action="store_true")
    scope.add_argument("--all", action="store_true")
    commands.add_parser("status")
    params = commands.add_parser("params")
    params.add_argument("assignments", nargs="*", metavar="KEY=VALUE")
    use = commands.add_parser("use")
    use.add_argument("pipeline_path")
    return parser


class OrchestMagic:
    """The `%orchest` line magic of one kernel (it remembers the pipeline chosen with `use`)."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.chosen_pipeline: str | None = None
        self.parser = _parser()

    def __call__(self, line: str) -> Any:
        try:
            args = self.parser.parse_args(shlex.split(line))
            if args.command is None:
                print(USAGE)
                return None
            handler = getattr(self, f"_{args.command}")
            return handler(args)
        except MagicError as error:
            print(f"%orchest: {error}", file=sys.stderr)
            return None

    # Subcommands

    def _use(self, args: argparse.Namespace) -> None:
        self.chosen_pipeline = args.pipeline_path
        step = self._step(args.pipeline_path)
        print(f"This notebook is step {step['title']!r} of {step['pipeline_path']}.")

    def _inputs(self, args: argparse.Namespace) -> dict[str, Any]:
        from . import errors
        from .transfer import get_inputs

        if not self._in_run():
            self._attach(self._step(args.pipeline))
        try:
            return get_inputs()
        except errors.OutputNotFoundError as error:
            raise MagicError(f"{error} (`%orchest run --incoming` runs them all).") from None

    def _run(self, args: argparse.Namespace) -> None:
        if self._in_run():
            print("%orchest run: skipped, this notebook is running as a step of a pipeline run.")
            return
        step = self._step(args.pipeline)
        kind = "all" if args.all else "incoming" if args.incoming else "selection"
        body = {"pipeline": step["pipeline_path"], "type": kind, "steps": [step["step_uuid"]]}
        api = ServerAPI.from_environment()
        run = api.call("POST", "runs", body)
        display = _Display()
        try:
            while run["state"] not in FINISHED:
                display.show(_progress(run))
                time.sleep(POLL_SECONDS)
                run = api.call("GET", f"runs/{run['id']}")
        except KeyboardInterrupt:
            api.call("POST", f"runs/{run['id']}/cancel")
            display.show(_progress(api.call("GET", f"runs/{run['id']}")))
            print("Interrupted: the run was cancelled.")
            return
        display.show(_progress(run))
        print(f"Run {run['state'].lower()} in {_elapsed(run)}.")
        for failed in (s for s in run["steps"] if s["state"] == "FAILURE"):
            log = api.call("GET", f"runs/{run['id']}/steps/{failed['uuid']}/log")
            tail = "\n".join(str(log).splitlines()[-LOG_TAIL_LINES:])
            print(f"\n{failed['title']} failed: {failed['message']}\n{tail}")

    def _status(self, args: argparse.Namespace) -> None:
        step = self._step(args.pipeline)
        runs = ServerAPI.from_environment().call("GET", "runs", pipeline=step["pipeline_path"])
        if not runs["runs"]:
            print(f"{step['pipeline_path']} has not run yet: `%orchest run --all` runs it.")
            return
        _Display().show(_progress(runs["runs"][0]))

    def _params(self, args: argparse.Namespace) -> dict[str, Any]:
        step = self._step(args.pipeline)
        api = ServerAPI.from_environment()
        path = urllib.parse.quote(step["pipeline_path"])
        definition = api.call("GET", f"pipelines/{path}")["definition"]
        parameters = definition["steps"][step["step_uuid"]].setdefault("parameters", {})
        if args.assignments:
            parameters.update(_assignments(args.assignments))
            api.call("PUT", f"pipelines/{path}", {"definition": definition})
            print(f"Saved in {step['pipeline_path']}.")
        print(f"{step['title']}: {json.dumps(parameters, sort_keys=True)}")
        print(f"pipeline: {json.dumps(definition.get('parameters', {}), sort_keys=True)}")
        return dict(parameters)

    # Which step this notebook is

    def _in_run(self) -> bool:
        """The engine runs this notebook as a step (rather than `inputs` attaching it)."""
        return bool(os.environ.get(step_environment.STEP_UUID)) and not os.environ.get(ATTACHED)

    def _step(self, pipeline: str | None) -> dict[str, Any]:
        notebook = os.environ.get("JPY_SESSION_NAME") or self.shell.user_ns.get("__session__")
        if not notebook:
            raise MagicError(
                "This kernel does not know which notebook it belongs to: open the notebook "
                "in JupyterLab and use the magic there."
            )
        steps = ServerAPI.from_environment().call("GET", "steps", file=notebook)["steps"]
        pipeline = pipeline or self.chosen_pipeline
        if pipeline is not None:
            steps = [s for s in steps if s["pipeline_path"] == pipeline.strip("/")]
        if not steps:
            where = f"the pipeline {pipeline}" if pipeline else "any pipeline"
            raise MagicError(
                f"This notebook is not a step of {where}: drag it into a pipeline in the "
                "pipeline editor first."
            )
        if len(steps) > 1:
            names = ", ".join(sorted({s["pipeline_path"] for s in steps}))
            raise MagicError(
                f"This notebook is a step of several pipelines ({names}): choose one with "
                "`%orchest use <pipeline>` (or add `--pipeline <pipeline>`)."
            )
        return dict(steps[0])

    def _attach(self, step: dict[str, Any]) -> None:
        """Make this kernel act as the step for the SDK, as a run would (outputs it writes go
        where the step's outputs go, as in an Orchest interactive session)."""
        os.environ.update(
            step_environment.step_environment(
                project_dir=step["project_dir"],
                pipeline_path=step["pipeline_in_project"],
                pipeline_uuid=step["pipeline_uuid"],
                step_uuid=step["step_uuid"],
                run_id="interactive",
                outputs_dir=step["outputs_dir"],
                data_dir=step["data_dir"],
            )
        )
        os.environ.pop(step_environment.PARAMETERS_FILE, None)  # the file's own parameters
        os.environ[ATTACHED] = step["step_uuid"]


def _assignments(assignments: list[str]) -> dict[str, Any]:
    values = {}
    for assignment in assignments:
        key, equals, text = assignment.partition("=")
        if not equals or not key:
            raise MagicError(f"{assignment!r} is not KEY=VALUE (e.g. alpha=0.2 or name=abc).")
        try:
            values[key] = json.loads(text)
        except ValueError:
            values[key] = text  # a bare word is a string
    return values


def _progress(run: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(title, state, note) of each step of the run."""
    rows = []
    for step in run["steps"]:
        note = "from the cache" if step.get("cached") else step.get("message", "")
        rows.append((step["title"], step["state"], note))
    return rows


def _elapsed(run: dict[str, Any]) -> str:
    from datetime import datetime

    try:
        started = datetime.fromisoformat(run["created_at"])
        finished = datetime.fromisoformat(run["finished_at"])
    except (TypeError, ValueError, KeyError):
        return "an unknown time"
    return f"{(finished - started).total_seconds():.1f} s"


class _Display:
    """A table of steps in the cell's output, replaced in place as it changes."""

    def __init__(self) -> None:
        self.handle: Any = None

    def show(self, rows: list[tuple[str, str, str]]) -> None:
        from html import escape

        from IPython.display import display

        text = "\n".join(f"{title:<30} {state:<9} {note}" for title, state, note in rows)
        cells = "".join(
            f"<tr><td>{escape(title)}</td><td>{escape(state)}</td><td>{escape(note)}</td></tr>"
            for title, state, note in rows
        )
        table = _Table(text, f"<table><tr><th>step</th><th>state</th><th></th></tr>{cells}</table>")
        if self.handle is None:
            self.handle = display(table, display_id=True)  # type: ignore[no-untyped-call]
        else:
            self.handle.update(table)


class _Table:
    """Text for plain frontends, HTML for notebooks."""

    def __init__(self, text: str, html: str) -> None:
        self.text, self.html = text, html

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return self.html


def load(shell: Any) -> None:
    shell.register_magic_function(OrchestMagic(shell), magic_kind="line", magic_name="orchest")
