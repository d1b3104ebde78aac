"""`%orchest`: work on a pipeline step from the step's own notebook.

Loaded with `%load_ext jupyter_orchest` (kernels of built environments load it at start). It
runs in the kernel's environment, so it needs only the standard library and IPython, and it
talks to the Jupyter server over its REST API (see `server_link`).

Usage:
  inputs = %orchest inputs          this step's inputs: its parents' last outputs
  %orchest run [--incoming | --all] run this step (with its ancestors, or the whole pipeline)
  %orchest status                   the pipeline's steps and their states
  %orchest params [KEY=VALUE ...]   show, or set, this step's parameters (JSON values)
  %orchest use PIPELINE [STEP]      choose the step when the notebook is in several pipelines
Any command also takes --pipeline PIPELINE and --step STEP (a title or uuid).

Inside a pipeline run (the engine runs this very notebook) `inputs` returns the run's own
inputs, `params` shows the run's parameters and the other commands do nothing, so a notebook
that uses the magics runs unchanged as a step.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import time
import urllib.parse
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.display import display

from . import environment as step_environment
from . import errors as sdk_errors
from .run_tables import Table, progress_table, status_table, summary
from .server_link import SESSION_NAME, ContainerPaths, LinkError, ServerAPI, notebook_path

USAGE = __doc__.split("\n\n")[2] if __doc__ else ""
ATTACHED = "JUPYTER_ORCHEST_ATTACHED_STEP"
"""Set by `%orchest inputs` when it makes this kernel act as a step (not in a real run)."""
POLL_SECONDS = 0.3
REDRAW_SECONDS = 1.0
CANCEL_WAIT_SECONDS = 30.0
FINISHED = ("SUCCESS", "FAILURE", "ABORTED")
LOG_TAIL_LINES = 20


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would end the kernel's process
        raise UsageError(f"{message}\n{USAGE}")


def command_parser() -> argparse.ArgumentParser:
    """`%orchest`'s arguments: a command and its options."""
    choice = _Parser(add_help=False)
    choice.add_argument("--pipeline", help="the pipeline file, from the server's root")
    choice.add_argument("--step", help="the step's title or uuid")
    parser = _Parser(prog="%orchest", add_help=False)
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    commands.add_parser("inputs", parents=[choice], add_help=False)
    run = commands.add_parser("run", parents=[choice], add_help=False)
    scope = run.add_mutually_exclusive_group()
    scope.add_argument("--incoming", action="store_true", help="with its ancestors")
    scope.add_argument("--all", action="store_true", help="the whole pipeline")
    commands.add_parser("status", parents=[choice], add_help=False)
    params = commands.add_parser("params", parents=[choice], add_help=False)
    params.add_argument("assignments", nargs="*", metavar="KEY=VALUE")
    use = commands.add_parser("use", add_help=False)
    use.add_argument("use_pipeline", nargs="?", metavar="PIPELINE")
    use.add_argument("use_step", nargs="?", metavar="STEP")
    return parser


def parse_assignments(assignments: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` words as parameters: the value as JSON, else as a string."""
    values = {}
    for assignment in assignments:
        key, equals, text = assignment.partition("=")
        if not equals or not key.strip():
            raise UsageError(f"{assignment!r} is not KEY=VALUE (e.g. alpha=0.2 or name=abc).")
        try:
            values[key.strip()] = json.loads(text)
        except ValueError:
            values[key.strip()] = text  # a bare word is a string
    return values


def in_run() -> bool:
    """The engine runs this notebook as a step (rather than `inputs` attaching the kernel)."""
    return bool(os.environ.get(step_environment.STEP_UUID)) and not os.environ.get(ATTACHED)


@magics_class
class OrchestMagics(Magics):
    """`%orchest` for one kernel, which remembers the step chosen with `use`."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.parser = command_parser()
        self.chosen: tuple[str, str | None] | None = None
        """(pipeline, step or None) from `%orchest use`."""

    @line_magic
    def orchest(self, line: str) -> Any:
        """Work on this notebook's pipeline step: `%orchest` alone says how."""
        try:
            words = shlex.split(line)
        except ValueError as error:
            raise UsageError(f"{error}: check the quotes.") from None
        if not words or {"-h", "--help", "help"} & set(words):
            print(USAGE)
            return None
        args = self.parser.parse_args(words)
        try:
            if in_run():
                return getattr(self, f"_{args.command}_in_run")(args)
            return getattr(self, f"_{args.command}")(args)
        except (LinkError, sdk_errors.Error) as error:
            raise UsageError(str(error)) from None

    # In a pipeline run: the engine's variables say which step this is.

    def _inputs_in_run(self, args: argparse.Namespace) -> dict[str, Any]:
        from .transfer import get_inputs

        return get_inputs()

    def _params_in_run(self, args: argparse.Namespace) -> dict[str, Any]:
        from .parameters import get_params

        step, pipeline = get_params()
        if args.assignments:
            print("%orchest params: not set, this notebook is running as a step of a run.")
        _print_parameters("this step", step, pipeline)
        return step

    def _run_in_run(self, args: argparse.Namespace) -> None:
        print("%orchest run: skipped, this notebook is running as a step of a pipeline run.")

    def _status_in_run(self, args: argparse.Namespace) -> None:
        print("%orchest status: skipped, this notebook is running as a step of a pipeline run.")

    def _use_in_run(self, args: argparse.Namespace) -> None:
        print("%orchest use: skipped, this notebook is running as a step of a pipeline run.")

    # In the user's own kernel.

    def _use(self, args: argparse.Namespace) -> None:
        if args.use_pipeline is None:
            steps = self._steps_of_notebook(ServerAPI.from_environment())
            print(_step_list(steps) if steps else "This notebook is not a step of any pipeline.")
            return
        chosen = (args.use_pipeline, args.use_step)
        step = self._step(argparse.Namespace(pipeline=chosen[0], step=chosen[1]))
        self.chosen = chosen
        print(f"This notebook is step {step['title']!r} of {step['pipeline_path']}.")

    def _inputs(self, args: argparse.Namespace) -> dict[str, Any]:
        from .transfer import get_inputs

        self._attach(self._step(args))
        try:
            return get_inputs()
        except sdk_errors.OutputNotFoundError as error:
            raise UsageError(
                f"{error} `%orchest run --incoming` runs this step with its ancestors."
            ) from None

    def _run(self, args: argparse.Namespace) -> None:
        step = self._step(args)
        api = ServerAPI.from_environment()
        kind = "all" if args.all else "incoming" if args.incoming else "selection"
        body = {"pipeline": step["pipeline_path"], "type": kind, "steps": [step["step_uuid"]]}
        run = api.orchest("POST", "runs", body)
        shown = _show(progress_table(run), display_id=True)
        try:
            run = _follow(api, run, shown)
        except KeyboardInterrupt:
            api.orchest("POST", f"runs/{run['id']}/cancel")
            print(f"Interrupted: run {run['id']} is cancelled.")
            try:
                run = _follow(api, run, shown, CANCEL_WAIT_SECONDS)
            except KeyboardInterrupt:
                return
        print(summary(run))
        for failed in (s for s in run["steps"] if s["state"] == "FAILURE"):
            log = str(api.orchest("GET", f"runs/{run['id']}/steps/{failed['uuid']}/log"))
            tail = "\n".join(log.splitlines()[-LOG_TAIL_LINES:])
            print(f"\n{failed['title']} failed: {failed['message']}\n{tail}")

    def _status(self, args: argparse.Namespace) -> None:
        step = self._step(args)
        api = ServerAPI.from_environment()
        definition = api.orchest("GET", f"pipelines/{_quoted(step['pipeline_path'])}")["definition"]
        runs = api.orchest("GET", "runs", pipeline=step["pipeline_path"])["runs"]
        _show(status_table(step["pipeline_path"], definition["steps"], runs, step["step_uuid"]))

    def _params(self, args: argparse.Namespace) -> dict[str, Any]:
        step = self._step(args)
        changes = parse_assignments(args.assignments)
        api = ServerAPI.from_environment()
        path = f"pipelines/{_quoted(step['pipeline_path'])}"
        definition = api.orchest("GET", path)["definition"]
        parameters = definition["steps"][step["step_uuid"]].setdefault("parameters", {})
        if changes:
            parameters.update(changes)
            # The server validates the whole pipeline and writes it atomically.
            definition = api.orchest("PUT", path, {"definition": definition})["definition"]
            parameters = definition["steps"][step["step_uuid"]]["parameters"]
            print(f"Saved in {step['pipeline_path']}.")
        _print_parameters(step["title"], parameters, definition.get("parameters", {}))
        return dict(parameters)

    # Which step this notebook is

    def _steps_of_notebook(self, api: ServerAPI) -> list[dict[str, Any]]:
        namespace = self.shell.user_ns if self.shell is not None else {}
        session = os.environ.get(SESSION_NAME) or namespace.get("__session__")
        notebook = notebook_path(api, session)
        steps: list[dict[str, Any]] = api.orchest("GET", "steps", file=notebook)["steps"]
        return steps

    def _step(self, args: argparse.Namespace) -> dict[str, Any]:
        """The step this notebook is, in the pipeline (and step) asked for or chosen."""
        steps = self._steps_of_notebook(ServerAPI.from_environment())
        pipeline, step = args.pipeline, args.step
        if pipeline is None and step is None and self.chosen is not None:
            pipeline, step = self.chosen
        matching = [
            s
            for s in steps
            if (pipeline is None or s["pipeline_path"] == pipeline.strip("/"))
            and (step is None or step in (s["step_uuid"], s["title"]))
        ]
        if len(matching) == 1:
            return matching[0]
        if not steps:
            raise UsageError(
                "This notebook is not a step of any valid pipeline under the server's root: "
                "add it to a pipeline (drag it from the file browser into the pipeline "
                "editor), save the pipeline, then try again."
            )
        if not matching:
            asked = " ".join(filter(None, [pipeline, step]))
            raise UsageError(f"This notebook is not the step {asked}. It is:\n{_step_list(steps)}")
        raise UsageError(
            "This notebook is a step of several pipelines (or several steps of one). Choose "
            "one with `%orchest use PIPELINE [STEP]` (remembered by this kernel) or with "
            f"`--pipeline PIPELINE [--step STEP]` on a command:\n{_step_list(matching)}"
        )

    def _attach(self, step: dict[str, Any]) -> None:
        """Make this kernel act as the step for the SDK, as a run would: `orchest.get_inputs`,
        `get_step_param`, ... work, and outputs go where the step's go (as in an Orchest
        interactive session). Paths are the ones this kernel sees (e.g. in a container)."""
        paths = ContainerPaths.from_environment()
        os.environ.update(
            step_environment.step_environment(
                project_dir=paths.to_kernel(step["project_dir"]),
                pipeline_path=step["pipeline_in_project"],
                pipeline_uuid=step["pipeline_uuid"],
                step_uuid=step["step_uuid"],
                run_id="interactive",
                outputs_dir=paths.to_kernel(step["outputs_dir"]),
                data_dir=paths.to_kernel(step["data_dir"]),
            )
        )
        os.environ.pop(step_environment.PARAMETERS_FILE, None)  # the file's own parameters
        os.environ[ATTACHED] = step["step_uuid"]


def _follow(
    api: ServerAPI, run: dict[str, Any], shown: Any, limit: float | None = None
) -> dict[str, Any]:
    """Poll the run until it finishes (or `limit` seconds pass), redrawing its table in place
    when a state changes and every second while it runs."""
    started = drawn = time.monotonic()
    states = [s["state"] for s in run["steps"]]
    while run["state"] not in FINISHED:
        if limit is not None and time.monotonic() - started > limit:
            break
        time.sleep(POLL_SECONDS)
        run = api.orchest("GET", f"runs/{run['id']}")
        now_states = [s["state"] for s in run["steps"]]
        if now_states != states or time.monotonic() - drawn >= REDRAW_SECONDS:
            _update(shown, progress_table(run))
            states, drawn = now_states, time.monotonic()
    _update(shown, progress_table(run))
    return run


def _show(table: Table, display_id: bool = False) -> Any:
    """Show the table in the cell's output; with `display_id`, a handle to update it."""
    return display(table, display_id=display_id)  # type: ignore[no-untyped-call]


def _update(shown: Any, table: Table) -> None:
    if shown is not None:  # None outside IPython's display machinery
        shown.update(table)


def _step_list(steps: list[dict[str, Any]]) -> str:
    return "\n".join(f"  {s['pipeline_path']}  {s['title']}" for s in steps)


def _print_parameters(title: str, step: dict[str, Any], pipeline: dict[str, Any]) -> None:
    print(f"{title}: {json.dumps(step, sort_keys=True)}")
    print(f"pipeline: {json.dumps(pipeline, sort_keys=True)}")


def _quoted(path: str) -> str:
    return urllib.parse.quote(path)


def load(shell: Any) -> None:
    shell.register_magics(OrchestMagics(shell))
