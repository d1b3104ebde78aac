"""`jupyter orchest`: run pipelines from a terminal, without a server (for CI and cron), manage
a project's environments, and manage the jobs of a running server.

Imports stay lean: no Jupyter server stack is loaded to run a pipeline.
"""

import argparse
import asyncio
import json
import os
import signal
import sys
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from .engine.events import RunChanged, StepChanged, StepLogged
from .engine.launch import (
    RunLayout,
    RunVariables,
    check_overrides,
    parallelism_for,
    prepare_run,
)
from .engine.model import RunState, StepExecutor, StepState
from .engine.orchestrator import PipelineRunner
from .engine.planning import RunPlan, RunType, plan_run
from .environments.cli import (
    EnvironmentCommandError,
    add_environment_commands,
    make_builds,
    run_environment_command,
)
from .environments.definition import environment_issues
from .jobs.cli import JobCommandError, add_job_commands, run_job_command
from .pipeline import (
    PipelineValidationError,
    folder_in_project,
    parse_definition,
    project_folder,
    validate_definition,
)
from .projects import MalformedVariables, session_variables
from .provenance_cli import ProvenanceCommandError, add_run_options, run_caching
from .provenance_cli import add_commands as add_provenance_commands
from .provenance_cli import run_command as run_provenance_command
from .sessions.definitions import has_run_services
from .sessions.model import ServiceStatus

TAIL_LINES = 20


class UsageError(Exception):
    """Bad input from the command line; the message says what to fix."""


class ConsoleProgress:
    """Prints each state change as it happens, and a failed step's last lines of output."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.started_at: dict[str, datetime] = {}
        self.finished: dict[str, tuple[str, StepState, float | None, str]] = {}
        self.tails: dict[str, deque[str]] = {}

    def run_changed(self, event: RunChanged) -> None:
        pass

    def step_changed(self, event: StepChanged) -> None:
        if event.state == StepState.RUNNING:
            self.started_at[event.step_uuid] = event.at
        if event.state == StepState.PENDING:
            return
        start = self.started_at.get(event.step_uuid)
        seconds = (event.at - start).total_seconds() if start and event.state.finished else None
        took = f" ({seconds:.1f}s)" if seconds is not None else ""
        cached = " (from the cache)" if event.cached else ""
        print(
            f"{event.at:%H:%M:%S}  {event.state.value:<8}  {event.title}{took}{cached}",
            file=self.out,
        )
        if event.reasons:
            print(f"    ran because: {'; '.join(event.reasons)}", file=self.out)
        if event.state.finished:
            self.finished[event.step_uuid] = (event.title, event.state, seconds, event.message)
        if event.state == StepState.FAILURE:
            for line in self.tails.get(event.step_uuid, ()):
                print(f"    | {line}", file=self.out)
            if event.message:
                print(f"    {event.message}", file=self.out)
        self.out.flush()

    def step_logged(self, event: StepLogged) -> None:
        tail = self.tails.setdefault(event.step_uuid, deque(maxlen=TAIL_LINES))
        tail.extend(line for line in event.text.splitlines() if line.strip())

    def summary(self, state: RunState) -> str:
        rows = [("STEP", "STATE", "SECONDS")] + [
            (title, step_state.value, f"{seconds:.1f}" if seconds is not None else "-")
            for title, step_state, seconds, _ in self.finished.values()
        ]
        width = max(len(row[0]) for row in rows)
        lines = [f"{title:<{width}}  {state_:<8}  {seconds:>7}" for title, state_, seconds in rows]
        return "\n".join([*lines, f"Run {state.value}."])


class ConsoleServices:
    """Prints each change of the run's services (see `sessions.run_session`)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.shown: dict[str, tuple[str, str]] = {}

    def changed(self, services: list[ServiceStatus]) -> None:
        for service in services:
            state = (service.state.value, service.message)
            if self.shown.get(service.name) != state:
                self.shown[service.name] = state
                urls = f" at {', '.join(service.urls)}" if service.urls else ""
                message = f": {service.message}" if service.message else ""
                print(
                    f"{datetime.now():%H:%M:%S}  service {service.name} "
                    f"{service.state.value}{urls}{message}",
                    file=self.out,
                    flush=True,
                )


def parse_value(text: str) -> Any:
    """`3` is a number, `[1, 2]` a list, `true` a boolean; anything else stays text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def step_uuid_for(definition: dict[str, Any], name: str) -> str:
    steps = definition["steps"]
    if name in steps:
        return name
    titled: list[str] = [uuid for uuid, step in steps.items() if step.get("title") == name]
    if len(titled) == 1:
        return titled[0]
    if titled:
        raise UsageError(f"Several steps are titled '{name}': name the step by its uuid.")
    titles = ", ".join(repr(step.get("title")) for step in steps.values())
    raise UsageError(f"The pipeline has no step '{name}'. Its steps: {titles}.")


def parameter_overrides(
    definition: dict[str, Any], assignments: list[str], option: str = "--param"
) -> dict[str, Any]:
    """`--param KEY=VALUE` sets a pipeline parameter; `--param STEP.KEY=VALUE` a step's."""
    overrides: dict[str, Any] = {"pipeline": {}, "steps": {}}
    for assignment in assignments:
        target, equals, value = assignment.partition("=")
        if not equals or not target:
            raise UsageError(f"{option} '{assignment}' must look like [STEP.]KEY=VALUE.")
        step, dot, key = target.partition(".")
        if dot:
            uuid = step_uuid_for(definition, step)
            overrides["steps"].setdefault(uuid, {})[key] = parse_value(value)
        else:
            overrides["pipeline"][target] = parse_value(value)
    return overrides


def load_pipeline(path: Path) -> tuple[dict[str, Any], Path]:
    """The valid definition in `path`, and its project folder."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"Cannot read '{path}': {error.strerror}.") from None
    definition = parse_definition(text)
    project = project_folder(path, Path(path.anchor))
    issues = validate_definition(definition, pipeline_dir=folder_in_project(path, project))
    issues += environment_issues(definition, project)
    if issues:
        raise PipelineValidationError(issues)
    return definition, project


async def run_pipeline(args: argparse.Namespace, out: TextIO) -> int:
    # Imported here: kernels and their clients are only needed once a run really starts.
    from .engine.executors import LocalExecutor
    from .environments.executor import EnvironmentExecutor

    builds = None
    executor: StepExecutor = LocalExecutor()
    if args.ray:
        from .engine.executors.ray import RayExecutor

        executor = RayExecutor(args.ray)
    elif args.environment_backend != "none":
        builds = make_builds(
            args.environment_backend, out, show_log=False, database_url=args.database_url
        )
        executor = EnvironmentExecutor(builds)
    # Kernels warm up while the pipeline is read and validated (jsonschema's import is slow).
    warming_up = asyncio.ensure_future(executor.start())
    session = None
    try:
        run = await asyncio.to_thread(prepare_cli_run, args, out)
        steps_executor = executor
        if has_run_services(run.definition):
            from .sessions.ports import PortLeases
            from .sessions.run_session import RunSession, RunSessionSettings

            settings = RunSessionSettings(builds, executor, PortLeases(), grace_period=3.0)
            changed = ConsoleServices(out).changed
            session = RunSession.for_run(
                run.definition, run.layout, run.variables, settings, "this run", changed
            )
            steps_executor = await session.open()
        runner = await asyncio.to_thread(run.runner, steps_executor)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, runner.cancel)
        loop.add_signal_handler(signal.SIGTERM, runner.cancel)
        await warming_up
        state = await runner.run()
    finally:
        warming_up.cancel()
        if session is not None:
            await session.close()
        await executor.shutdown()
        if builds is not None:
            await builds.shutdown()
    print(run.progress.summary(state), file=out)
    print(f"Logs: {run.layout.logs_dir}", file=out)
    return 0 if state == RunState.SUCCESS else 1


@dataclass
class CliRun:
    """A run read from the command line, ready to be given its executor."""

    args: argparse.Namespace
    definition: dict[str, Any]
    plan: RunPlan
    layout: RunLayout
    overrides: dict[str, Any]
    variables: RunVariables
    progress: ConsoleProgress

    def runner(self, executor: StepExecutor) -> PipelineRunner:
        args = self.args
        return prepare_run(
            definition=self.definition,
            plan=self.plan,
            layout=self.layout,
            executor=executor,
            observer=self.progress,
            parallelism=args.parallelism or parallelism_for(self.definition, os.cpu_count() or 1),
            overrides=self.overrides,
            fail_fast=args.fail_fast,
            variables=self.variables,
            caching=run_caching(args),
            force=args.force,
        )


def prepare_cli_run(args: argparse.Namespace, out: TextIO) -> CliRun:
    pipeline_file = Path(args.pipeline).expanduser().resolve()
    definition, project = load_pipeline(pipeline_file)
    selection = [step_uuid_for(definition, name) for name in args.steps or []]
    run_type = (
        RunType.INCOMING
        if selection and args.incoming
        else RunType.SELECTION
        if selection
        else RunType.ALL
    )
    try:
        overrides = check_overrides(definition, parameter_overrides(definition, args.param))
    except ValueError as error:
        raise UsageError(str(error)) from None
    plan = plan_run(definition, pipeline_file, run_type, selection)
    data_dir = Path(args.data_dir).expanduser().resolve() if args.data_dir else project / "data"
    run_id = uuid.uuid4().hex
    layout = RunLayout.interactive(project, pipeline_file, definition["uuid"], run_id, data_dir)
    session = session_variables(project, pipeline_file, definition["uuid"], run_id)
    try:
        variables = RunVariables.of_run(project, definition["uuid"], session)
    except MalformedVariables as error:
        raise UsageError(str(error)) from None
    return CliRun(args, definition, plan, layout, overrides, variables, ConsoleProgress(out))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyter orchest", description="Pipelines of notebooks and scripts."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "run",
        help="run a pipeline here and now, without a server",
        description="Run a pipeline; exits 1 if a step fails, 2 on bad input.",
    )
    run.add_argument("pipeline", help="the pipeline file (*.orchest)")
    run.add_argument("--steps", nargs="+", metavar="STEP", help="run only these (uuids or titles)")
    run.add_argument(
        "--incoming", action="store_true", help="with --steps: also run all their ancestors"
    )
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="[STEP.]KEY=VALUE",
        help="override a pipeline (KEY) or step (STEP.KEY) parameter for this run; "
        "VALUE is read as JSON when it can be",
    )
    run.add_argument("--fail-fast", action="store_true", help="abort everything on a failure")
    run.add_argument("--parallelism", type=int, help="steps run at once (default: CPUs)")
    run.add_argument("--data-dir", help="the steps' data folder (default: <project>/data)")
    add_run_options(run)
    run.add_argument(
        "--environment-backend",
        choices=("auto", "docker", "local", "none"),
        default="auto",
        help="run steps in their environments, built with Docker or as local virtual "
        "environments ('auto', the default: Docker when an engine answers), or with this "
        "Python's own kernels and interpreters ('none')",
    )
    run.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run the steps as tasks on this Ray cluster (`auto`, `ray://host:10001`, or "
        "`local` to start one for this run), in the workers' Python",
    )
    add_environment_commands(commands)
    add_job_commands(commands)
    add_provenance_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "job":
            return run_job_command(args, sys.stdout)
        if args.command in ("cache", "provenance"):
            return run_provenance_command(args, sys.stdout)
        if args.command == "env":
            return run_environment_command(args, sys.stdout)
        return asyncio.run(run_pipeline(args, sys.stdout))
    except PipelineValidationError as error:
        print(error, file=sys.stderr)
    except ProvenanceCommandError as error:
        print(f"error: {error}", file=sys.stderr)
    except (UsageError, JobCommandError, EnvironmentCommandError) as error:
        print(f"error: {error}", file=sys.stderr)
    except Exception as error:
        if not _database_unavailable(error):
            raise
        print(f"error: {error}", file=sys.stderr)
    return 2


def _database_unavailable(error: Exception) -> bool:
    """Whether the database could not be used (the store is imported only by the commands
    that use it, so an error of it can come only once it is)."""
    errors = sys.modules.get("jupyter_orchest.store.errors")
    return errors is not None and isinstance(error, errors.DatabaseUnavailable)


if __name__ == "__main__":
    sys.exit(main())
