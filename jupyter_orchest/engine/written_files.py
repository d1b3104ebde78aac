"""The files a step created or changed in its project folder and its data folder, found by one
scan after it ran: every regular file whose change time (ctime) falls in the step's run, plus
the files its `output_files` declare.

The change time, not the modification time: copies that keep a file's times (`cp -p`,
`shutil.copy2`, `tar x`, `curl -R`) and renames into place still change it, and no program can
set it. Left out: hidden files and folders (the engine's own `.orchest/` among them, editors'
swap files, JupyterLab's checkpoints), `__pycache__`, `node_modules`, virtual environments,
files of the kinds steps are made of (notebooks, scripts, pipeline files: a step that rewrites
one must not have it restored over your later edits; declare it to record it), and symbolic
links, which are never followed. The data folder, when it lies in the project folder, is
scanned as the data folder only, so that every file has one root and one path.

Paths are recorded relative to their folder, so that a copy of the project, or a job's run in
its own folder, gets the files back in its own folders.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from .hashing import file_identity
from .output_patterns import OutputPatterns

CODE_SUFFIXES = (".ipynb", ".py", ".sh", ".r", ".jl", ".js", ".orchest")
SKIPPED_FOLDERS = frozenset({"__pycache__", "node_modules"})
ROOT_NAMES = ("project", "data")


@dataclass(frozen=True)
class FileRoots:
    """A step's two folders, resolved: the project folder and the data folder."""

    project: Path
    data: Path

    @classmethod
    def of(cls, project: Path, data: Path) -> "FileRoots":
        return cls(project.resolve(), data.resolve())

    def folder(self, root: str) -> Path:
        return self.project if root == "project" else self.data

    def holds(self, path: Path) -> bool:
        return path.is_relative_to(self.project) or path.is_relative_to(self.data)


@dataclass(frozen=True)
class SeenFile:
    """A file the scan found."""

    root: str
    """"project" or "data"."""
    path: str
    """Relative to its root, with forward slashes."""
    size: int
    changed_ns: int
    identity: tuple[int, ...]
    declared: bool
    """Named by the step's `output_files`."""


def display_path(root: str, path: str) -> str:
    """How a file is shown: data files as a step sees them (`/data/model.pkl`)."""
    return f"/data/{path}" if root == "data" else path


def scan_changes(
    roots: FileRoots, since_ns: int, until_ns: int, patterns: OutputPatterns
) -> list[SeenFile]:
    """The files under both roots changed between the two moments (in ns since the epoch),
    or declared by `patterns`, as the module's docs say."""
    found: list[SeenFile] = []
    for root in ROOT_NAMES:
        folder = roots.folder(root)
        if root == "data" and folder == roots.project:
            continue  # one folder for both: its files are the project's
        others = {str(roots.folder(other)) for other in ROOT_NAMES if other != root}
        found += _scan_root(root, folder, others, since_ns, until_ns, patterns)
    return found


def _scan_root(
    root: str,
    folder: Path,
    skipped: set[str],
    since_ns: int,
    until_ns: int,
    patterns: OutputPatterns,
) -> list[SeenFile]:
    # Most files are unchanged: they cost a stat and a comparison, nothing more.
    declaring = patterns.applies_to(root)
    found = []
    # (folder, its path from the root with a trailing slash); iterative: depth costs no stack.
    pending: list[tuple[str, str]] = [(str(folder), "")]
    while pending:
        directory, prefix = pending.pop()
        try:
            with os.scandir(directory) as scan:
                entries = list(scan)
        except OSError:  # gone, or not readable: nothing of it can be recorded
            continue
        if prefix and _is_virtual_environment(entries):
            continue
        for entry in entries:
            name = entry.name
            if name[0] == ".":
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if name not in SKIPPED_FOLDERS and entry.path not in skipped:
                        pending.append((entry.path, f"{prefix}{name}/"))
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue  # a symbolic link, a socket, ...
                stat = entry.stat(follow_symlinks=False)
            except OSError:  # removed while the scan ran
                continue
            changed = since_ns <= stat.st_ctime_ns <= until_ns
            if not changed and not declaring:
                continue
            path = prefix + name
            declared = declaring and patterns.declares(root, path)
            if not declared and (
                not changed
                or name.lower().endswith(CODE_SUFFIXES)
                or (declaring and patterns.ignores(root, path))
            ):
                continue
            found.append(
                SeenFile(root, path, stat.st_size, stat.st_ctime_ns, file_identity(stat), declared)
            )
    return found


def _is_virtual_environment(entries: list[os.DirEntry[str]]) -> bool:
    return any(entry.name in ("pyvenv.cfg", "conda-meta") for entry in entries)
