"""`jupyter orchest env ...`: a project's environments from a terminal, without a server.

The commands work on the project's files directly, and record builds in the same database
as the server does by default (SQLite in Jupyter's data folder), so that a build made here is
the one the server's runs use, and the other way round. The project is `--project DIR`, else
the project of the current folder (the nearest folder holding `.orchest/`).
"""

import argparse
import asyncio
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..pipeline import project_folder
from .definition import (
    LANGUAGES,
    EnvironmentNotFound,
    InvalidProperties,
    MalformedEnvironment,
    create_environment,
    delete_environment,
    ensure_default_environment,
    scan_environments,
    update_environment,
)
from .events import BuildChanged, BuildLogged
from .model import BackendUnavailable, Environment

if TYPE_CHECKING:
    from ..store import BuildStore
    from .builds import Builds

BUILD_BACKENDS = ("auto", "docker", "local")


class EnvironmentCommandError(Exception):
    """What went wrong, for the user; the command exits with 2."""


class BuildProgress:
    """Prints build state changes as they happen, and with `show_log` the builds' output."""

    def __init__(self, out: TextIO, show_log: bool) -> None:
        self.out, self.show_log = out, show_log

    def build_changed(self, event: BuildChanged) -> None:
        what = f"environment {event.environment_name!r} (build {event.number}, {event.backend})"
        print(f"{event.at:%H:%M:%S}  {event.state.value:<8}  {what}", file=self.out)
        if event.message and not self.show_log:
            print(f"    {event.message}", file=self.out)
        self.out.flush()

    def build_logged(self, event: BuildLogged) -> None:
        if self.show_log:
            self.out.write(event.text)
            self.out.flush()


def make_builds(
    choice: str, out: TextIO, show_log: bool, database_url: str | None = None
) -> "Builds":
    """Builds as the server makes them, with this machine's defaults, reporting to `out`;
    recorded in the server's default database unless `database_url` names another."""
    # Imported here: the database and the backends are only needed once a build may start.
    from ..store import BuildStore, RunStore
    from ..store.database import default_database_url
    from .backends import BackendChoice, default_settings, kernelspecs_dir
    from .builds import Builds
    from .kernelspecs import KernelspecFolder

    return Builds(
        BackendChoice(default_settings(choice)),
        BuildStore(RunStore(database_url or default_database_url())),
        KernelspecFolder(kernelspecs_dir()),
        observer=BuildProgress(out, show_log),
    )


def add_environment_commands(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
) -> None:
    env = commands.add_parser(
        "env",
        help="list, create, edit, delete and build a project's environments",
        description="A project's environments (Orchest's .orchest/environments/).",
    )
    env.add_argument(
        "--project", help="the project folder (default: the project of the current folder)"
    )
    actions = env.add_subparsers(dest="env_command", required=True)
    actions.add_parser("list", help="the project's environments and their last builds")
    actions.add_parser("show", help="an environment, its setup script and its builds").add_argument(
        "environment", help="its uuid or name"
    )
    create = actions.add_parser("create", help="create an environment; prints its uuid")
    create.add_argument("name")
    edit = actions.add_parser("edit", help="change an environment's properties or script")
    edit.add_argument("environment", help="its uuid or name")
    edit.add_argument("--name", help="a new name")
    for parser in (create, edit):
        parser.add_argument("--language", choices=LANGUAGES)
        parser.add_argument("--base-image", help="e.g. orchest/base-kernel-py")
        parser.add_argument(
            "--gpu", action=argparse.BooleanOptionalAction, help="request GPUs (Docker)"
        )
        parser.add_argument(
            "--setup-script", metavar="FILE", help="the setup script's file ('-': standard input)"
        )
    actions.add_parser("delete", help="delete an environment and its builds").add_argument(
        "environment", help="its uuid or name"
    )
    build = actions.add_parser("build", help="build an environment, showing its log")
    build.add_argument("environment", help="its uuid or name")
    build.add_argument(
        "--environment-backend",
        choices=BUILD_BACKENDS,
        default="auto",
        help="Docker, a local virtual environment, or Docker when an engine answers (default)",
    )


def run_environment_command(args: argparse.Namespace, out: TextIO) -> int:
    project = _project(args.project)
    try:
        if args.env_command == "list":
            return _list(project, out)
        if args.env_command == "create":
            return _create(project, args, out)
        environment = _find(project, args.environment)
        if args.env_command == "show":
            return _show(environment, out)
        if args.env_command == "edit":
            return _edit(environment, args, out)
        if args.env_command == "delete":
            return asyncio.run(_delete(environment, out))
        return asyncio.run(_build(environment, args.environment_backend, out))
    except (EnvironmentNotFound, InvalidProperties, BackendUnavailable) as error:
        raise EnvironmentCommandError(str(error)) from None
    except MalformedEnvironment as error:
        raise EnvironmentCommandError(error.message) from None
    except OSError as error:
        raise EnvironmentCommandError(
            f"The environment's files cannot be written: {error}"
        ) from None


def _project(given: str | None) -> Path:
    if given is None:
        here = Path.cwd().resolve()
        return project_folder(here / "_", Path(here.anchor))
    folder = Path(given).expanduser().resolve()
    if not folder.is_dir():
        raise EnvironmentCommandError(f"The project folder '{given}' does not exist.")
    return folder


def _find(project: Path, wanted: str) -> Environment:
    environments, problems = scan_environments(project)
    for problem in problems:
        if problem.uuid == wanted:
            raise problem
    matches = [e for e in environments if wanted in (e.uuid, e.name)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise EnvironmentCommandError(
            f"Several environments are named {wanted!r}: name the one you mean by its uuid."
        )
    names = ", ".join(repr(e.name) for e in environments) or "none"
    raise EnvironmentCommandError(
        f"The project '{project}' has no environment {wanted!r}. Its environments: {names}."
    )


def _list(project: Path, out: TextIO) -> int:
    ensure_default_environment(project)
    environments, problems = scan_environments(project)
    store = _store()
    rows = [("UUID", "NAME", "LANGUAGE", "BASE IMAGE", "LAST BUILD")]
    for environment in environments:
        builds = store.list_builds(str(project), environment.uuid)
        last = f"{builds[0].number} {builds[0].state}" if builds else "-"
        rows.append(
            (environment.uuid, environment.name, environment.language, environment.base_image, last)
        )
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        print("  ".join([*cells, row[4]]), file=out)
    for problem in problems:
        print(f"cannot read {problem.uuid}: {problem.message}", file=out)
    return 0


def _show(environment: Environment, out: TextIO) -> int:
    for label, value in [
        ("uuid", environment.uuid),
        ("name", environment.name),
        ("language", environment.language),
        ("base image", environment.base_image),
        ("gpu support", "yes" if environment.gpu_support else "no"),
        ("kernel", environment.kernel_name),
    ]:
        print(f"{label + ':':<13}{value}", file=out)
    print("setup script:", file=out)
    for line in environment.setup_script.splitlines():
        print(f"    {line}", file=out)
    builds = _store().list_builds(str(environment.project_dir), environment.uuid)
    print("builds:" if builds else "builds:      none", file=out)
    for build in builds:
        finished = _time(build.finished_at)
        print(f"    {build.number:>3}  {build.state:<8}  {build.backend:<6}  {finished}", file=out)
        if build.message:
            print(f"         {build.message.splitlines()[0]}", file=out)
    return 0


def _create(project: Path, args: argparse.Namespace, out: TextIO) -> int:
    options = _changes(args)
    environment = create_environment(project, name=args.name, **options)
    print(environment.uuid, file=out)
    return 0


def _edit(environment: Environment, args: argparse.Namespace, out: TextIO) -> int:
    changes = _changes(args)
    if args.name is not None:
        changes["name"] = args.name
    if not changes:
        raise EnvironmentCommandError(
            "Nothing to change: give --name, --language, --base-image, --gpu/--no-gpu or "
            "--setup-script."
        )
    changed = update_environment(environment, changes)
    print(f"Saved the environment {changed.name!r} ({changed.uuid}).", file=out)
    return 0


async def _delete(environment: Environment, out: TextIO) -> int:
    builds = make_builds("auto", out, show_log=False)
    try:
        await builds.remove_environment(environment.project_dir, environment.uuid)
    finally:
        await builds.shutdown()
    delete_environment(environment.project_dir, environment.uuid)
    print(f"Deleted the environment {environment.name!r} ({environment.uuid}).", file=out)
    return 0


async def _build(environment: Environment, backend: str, out: TextIO) -> int:
    builds = make_builds(backend, out, show_log=True)
    try:
        record, _ = await builds.start(environment.project_dir, environment.uuid)
        finished = await builds.wait(environment.project_dir, environment.uuid, record.number)
    finally:
        await builds.shutdown()
    if finished is not None and finished.state == "SUCCESS":
        return 0
    if finished is not None and finished.message:
        print(f"\n{finished.message}", file=out)
    return 1


def _changes(args: argparse.Namespace) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if args.language is not None:
        changes["language"] = args.language
    if args.base_image is not None:
        changes["base_image"] = args.base_image
    if args.gpu is not None:
        changes["gpu_support"] = args.gpu
    if args.setup_script is not None:
        changes["setup_script"] = _read_script(args.setup_script)
    return changes


def _read_script(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    try:
        return Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise EnvironmentCommandError(f"Cannot read the setup script '{name}': {error}") from None


def _store() -> "BuildStore":
    from ..store import BuildStore, RunStore
    from ..store.database import default_database_url

    return BuildStore(RunStore(default_database_url()))


def _time(moment: datetime | None) -> str:
    return f"{moment.astimezone():%Y-%m-%d %H:%M:%S}" if moment else "-"
