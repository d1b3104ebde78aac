"""Snapshots: a frozen copy of a project that a job's runs start from, so that a job never
touches the user's own files and every run of it sees the same code.

A snapshot holds the project's files minus what does not belong in one: what `.gitignore`
files ignore (each applies to its own folder, as in git), the `.git` folder, the run state
in `.orchest/` (outputs, logs, jobs, local environments, build logs; the environment
definitions stay), the data folder, and caches (`__pycache__`, `.ipynb_checkpoints`).
Symbolic links are kept when they point inside the project and left out otherwise.

Both the snapshot and each run's copy appear whole or not at all: they are written beside
their destination and renamed into place, and removed if anything fails.
"""

import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pathspec

ALWAYS_EXCLUDED = frozenset({".git", "__pycache__", ".ipynb_checkpoints"})
STATE_FOLDER = ".orchest"
STATE_KEPT = frozenset({"environments", ".gitignore"})
"""What of `.orchest/` a snapshot keeps: the environment definitions."""


class SnapshotError(Exception):
    """A snapshot or run copy that could not be made; the message says why, for the user."""


@dataclass(frozen=True)
class SnapshotSummary:
    files: int
    bytes: int
    skipped_links: tuple[str, ...]
    """Symbolic links left out because they lead outside the project."""


def take_snapshot(
    project_dir: Path, destination: Path, excluded: Iterable[Path] = ()
) -> SnapshotSummary:
    """Copy the project into `destination` (which must not exist), leaving out the folders in
    `excluded` (e.g. the data folder) as well as what the module's docs list."""
    project = project_dir.resolve()
    skip = {path.resolve() for path in excluded}
    summary = _Counter()

    def copy_into(staging: Path) -> None:
        _copy_tree(project, project, staging, skip, [], summary)

    _write_whole(destination, copy_into)
    return SnapshotSummary(summary.files, summary.bytes, tuple(summary.skipped_links))


def copy_snapshot(snapshot: Path, destination: Path) -> None:
    """A run's own copy of a snapshot."""

    def copy_into(staging: Path) -> None:
        shutil.copytree(snapshot, staging, symlinks=True, dirs_exist_ok=True)

    _write_whole(destination, copy_into)


class _Counter:
    def __init__(self) -> None:
        self.files = 0
        self.bytes = 0
        self.skipped_links: list[str] = []


def _write_whole(destination: Path, write: Callable[[Path], None]) -> None:
    if destination.exists():
        raise SnapshotError(f"{destination} exists already.")
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}-", dir=destination.parent))
    try:
        write(staging)
        staging.rename(destination)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise SnapshotError(_describe(error)) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _copy_tree(
    project: Path,
    folder: Path,
    target: Path,
    skip: set[Path],
    ignores: list[tuple[Path, pathspec.GitIgnoreSpec]],
    summary: _Counter,
) -> None:
    ignores = [*ignores, *_gitignore(folder)]
    target.mkdir(exist_ok=True)
    with os.scandir(folder) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    for entry in entries:
        path = Path(entry.path)
        is_dir = entry.is_dir(follow_symlinks=False)
        if _left_out(project, path, is_dir, skip, ignores):
            continue
        if entry.is_symlink():
            if path.resolve().is_relative_to(project):
                os.symlink(os.readlink(path), target / entry.name)
            else:
                summary.skipped_links.append(path.relative_to(project).as_posix())
        elif is_dir:
            _copy_tree(project, path, target / entry.name, skip, ignores, summary)
        elif entry.is_file(follow_symlinks=False):
            shutil.copy2(path, target / entry.name)
            summary.files += 1
            summary.bytes += entry.stat(follow_symlinks=False).st_size


def _left_out(
    project: Path,
    path: Path,
    is_dir: bool,
    skip: set[Path],
    ignores: list[tuple[Path, pathspec.GitIgnoreSpec]],
) -> bool:
    if path.name in ALWAYS_EXCLUDED or path in skip:
        return True
    if path.parent == project / STATE_FOLDER and path.name not in STATE_KEPT:
        return True
    ignored = False
    for base, spec in ignores:  # outer folders first: the nearest .gitignore decides
        relative = path.relative_to(base).as_posix() + ("/" if is_dir else "")
        result = spec.check_file(relative)
        if result.include is not None:
            ignored = result.include
    return ignored


def _gitignore(folder: Path) -> list[tuple[Path, pathspec.GitIgnoreSpec]]:
    try:
        lines = (folder / ".gitignore").read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return []
    except (OSError, UnicodeDecodeError) as error:
        raise SnapshotError(f"{folder / '.gitignore'} cannot be read: {error}") from None
    return [(folder, pathspec.GitIgnoreSpec.from_lines(lines))]


def _describe(error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        return (
            "The disk is full: the project could not be copied. Free some space, or leave "
            "large folders out of the snapshot with a .gitignore file."
        )
    where = f" ({error.filename})" if error.filename else ""
    return f"The project could not be copied: {error.strerror or error}{where}."
