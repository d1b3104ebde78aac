"""`jupyter orchest cache ...` and `jupyter orchest provenance ...`: the step cache and where
results came from, read from the cache folder and the runs' database directly (no server
needed), by default the ones the server uses too."""

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from .engine.cache import (
    DEFAULT_CACHE_MAX_BYTES,
    DEFAULT_CACHE_MAX_FILE_BYTES,
    StepCache,
    default_cache_dir,
)
from .engine.caching import Caching
from .engine.model import format_size
from .engine.provenance import OutputDigest, StepProvenance, WrittenFile
from .engine.written_files import display_path


class ProvenanceCommandError(Exception):
    """What went wrong, for the user; the command exits with 2."""


def add_run_options(run: argparse.ArgumentParser) -> None:
    """The caching options of `jupyter orchest run`."""
    run.add_argument(
        "--force",
        action="store_true",
        help="recompute the chosen steps (all of them without --steps) instead of restoring "
        "them from the cache",
    )
    _add_cache_options(run)
    _add_database_option(run)


def run_caching(args: argparse.Namespace) -> Caching:
    """The cache and provenance ledger of a command-line run (opens the database)."""
    from .store import RunStore
    from .store.provenance import ProvenanceStore

    cache = (
        StepCache(_cache_dir(args), args.cache_max_bytes, max_file_bytes=args.cache_max_file_bytes)
        if args.cache_max_bytes > 0
        else None
    )
    return Caching(cache, ProvenanceStore(RunStore(_database_url(args))))


def add_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    cache = commands.add_parser(
        "cache",
        help="the step cache: its size, or clear it",
        description="Results of steps, found again by what determines them.",
    )
    _add_cache_options(cache)
    actions = cache.add_subparsers(dest="cache_command", required=True)
    actions.add_parser("info", help="how many results and bytes the cache holds")
    actions.add_parser("clear", help="remove every cached result")

    provenance = commands.add_parser(
        "provenance",
        help="where a pipeline's results came from, and why steps reran",
        description="The provenance of a run's steps: cached or computed and why, the key and "
        "its parts, inputs and the runs that made them, outputs, environment, host, git commit.",
    )
    provenance.add_argument("pipeline", help="the pipeline file (*.orchest)")
    provenance.add_argument("--run", help="the run's id (default: the pipeline's latest)")
    provenance.add_argument("--step", help="only this step (title or uuid), in detail")
    provenance.add_argument("--json", action="store_true", help="print JSON")
    _add_database_option(provenance)


def run_command(args: argparse.Namespace, out: TextIO) -> int:
    if args.command == "cache":
        return _cache_command(args, out)
    return _provenance_command(args, out)


def _cache_command(args: argparse.Namespace, out: TextIO) -> int:
    cache = StepCache(_cache_dir(args), args.cache_max_bytes)
    if args.cache_command == "clear":
        removed = cache.clear()
        freed = format_size(removed.bytes)
        print(f"Removed {removed.entries} results ({freed}) from {cache.folder}.", file=out)
    else:
        usage = cache.usage()
        print(
            f"{usage.entries} results, {usage.objects} files, {format_size(usage.bytes)} of "
            f"{format_size(cache.max_bytes)} in {cache.folder}.",
            file=out,
        )
    return 0


def _provenance_command(args: argparse.Namespace, out: TextIO) -> int:
    from .pipeline import parse_definition
    from .services.provenance import execution_to_json, provenance_to_json
    from .store import RunStore
    from .store.provenance import ProvenanceStore

    path = Path(args.pipeline).expanduser()
    try:
        definition = parse_definition(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ProvenanceCommandError(f"Cannot read '{path}': {error.strerror}.") from None
    uuid = definition.get("uuid")
    steps = definition.get("steps")
    if not isinstance(uuid, str) or not isinstance(steps, dict):
        raise ProvenanceCommandError(f"'{path}' is not a pipeline file.")
    store = ProvenanceStore(RunStore(_database_url(args)))
    run_id = args.run or store.latest_run(uuid)
    if run_id is None:
        raise ProvenanceCommandError("No run of this pipeline has recorded provenance yet.")
    records = {step: r for (_, step), r in store.for_runs([run_id], with_files=True).items()}
    if not records:
        raise ProvenanceCommandError(f"Run '{run_id}' recorded no provenance for this pipeline.")
    order = [uuid_ for uuid_ in steps if uuid_ in records]
    if args.step:
        chosen = _step_named(args.step, steps)
        if chosen not in records:
            raise ProvenanceCommandError(f"Step '{args.step}' did not run in run '{run_id}'.")
        order = [chosen]
    if args.json:
        found = []
        for step in order:
            executions = store.executions(records[step].source_run_id, step)
            found.append(
                {
                    **provenance_to_json(records[step]),
                    "executions": [execution_to_json(e) for e in executions],
                }
            )
        json.dump({"run_id": run_id, "steps": found}, out, indent=1)
        print(file=out)
        return 0
    print(f"Run {run_id}", file=out)
    for step in order:
        _print_record(records[step], out, detailed=bool(args.step))
    return 0


def _print_record(record: StepProvenance, out: TextIO, detailed: bool) -> None:
    if record.cached:
        how = f"cached (computed by run {record.source_run_id})"
    elif record.state == "COMPUTED":
        how = "computed: " + "; ".join(record.reasons)
    else:
        how = f"{record.state.lower()}: " + "; ".join(record.reasons)
    seconds = (record.finished_at - record.started_at).total_seconds()
    print(f"  {record.title}  {how}  ({seconds:.2f}s)", file=out)
    if not detailed:
        return
    parts = record.parts
    lines = [
        ("key", record.key),
        ("file", f"{parts.file_path} (code {parts.code[:16]})"),
        ("kernel", parts.kernel or "-"),
        ("parameters", json.dumps(parts.step_parameters, sort_keys=True)),
        ("pipeline parameters", json.dumps(parts.pipeline_parameters, sort_keys=True)),
        ("environment", f"{record.environment_uuid or '-'} ({parts.environment[:16]})"),
        *[
            ("input", f"{i.title}: {i.digest[:16] or 'none'} from run {i.run_id or '-'}")
            for i in parts.inputs
        ],
        *[("output", _describe_output(output)) for output in record.outputs],
        *[("wrote", _describe_file(file)) for file in record.files],
        *([("not cached", record.not_cached)] if record.not_cached else []),
        ("executor", f"{record.executor} on {record.host}"),
        ("git commit", record.git_commit or "-"),
        ("started", record.started_at.isoformat()),
        ("finished", record.finished_at.isoformat()),
    ]
    width = max(len(name) for name, _ in lines)
    for name, value in lines:
        print(f"    {name:<{width}}  {value}", file=out)


def _describe_file(file: WrittenFile) -> str:
    text = f"{display_path(file.root, file.path)} ({format_size(file.size)}) {file.digest[:16]}"
    if file.shared_with:
        text += f", written while {', '.join(file.shared_with)} executed too: not kept"
    return text


def _describe_output(output: OutputDigest) -> str:
    name = output.name or "unnamed"
    return f"{name} ({output.serialization}, {format_size(output.size)}) {output.digest[:16]}"


def _step_named(name: str, steps: dict[str, Any]) -> str:
    if name in steps:
        return name
    titled = [uuid for uuid, step in steps.items() if step.get("title") == name]
    if len(titled) != 1:
        raise ProvenanceCommandError(f"No single step is titled '{name}': name it by its uuid.")
    return titled[0]


def _add_cache_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache-dir", help="the cache's folder (default: orchest/cache in Jupyter's data folder)"
    )
    parser.add_argument(
        "--cache-max-bytes",
        type=int,
        default=DEFAULT_CACHE_MAX_BYTES,
        help="the cache's size limit; 0 caches nothing (default: %(default)s)",
    )
    parser.add_argument(
        "--cache-max-file-bytes",
        type=int,
        default=DEFAULT_CACHE_MAX_FILE_BYTES,
        help="the largest file a step writes that the cache keeps; a step writing a larger "
        "one is not cached (default: %(default)s)",
    )


def _add_database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        help="where provenance is recorded (default: the server's default database)",
    )


def _cache_dir(args: argparse.Namespace) -> Path:
    return Path(args.cache_dir).expanduser().resolve() if args.cache_dir else default_cache_dir()


def _database_url(args: argparse.Namespace) -> str:
    from .store.database import default_database_url

    return str(args.database_url) if args.database_url else default_database_url()
