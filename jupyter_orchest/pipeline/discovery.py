"""Finding the pipelines (``*.orchest`` files) in a folder tree, and the project each belongs to.

A project is a folder holding a ``.orchest/`` folder, as Orchest lays projects out; a pipeline
outside any project is its own project, rooted at its folder.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

PIPELINE_SUFFIX = ".orchest"
PROJECT_MARKER = ".orchest"

_SKIPPED_FOLDERS = frozenset({"node_modules", "__pycache__"})


@dataclass(frozen=True)
class DiscoveredPipeline:
    """A pipeline file; both paths are posix and relative to the folder searched."""

    path: str
    project: str
    """The project folder; "" when it is the folder searched."""

    @property
    def pipeline_dir(self) -> str:
        """The pipeline file's folder relative to its project, as validation expects it."""
        folder = posixpath.dirname(self.path)
        return "" if folder == self.project else posixpath.relpath(folder, self.project or ".")


def find_pipelines(root: Path) -> list[DiscoveredPipeline]:
    """Every pipeline under ``root``, sorted by path.

    Hidden folders, ``node_modules``, ``__pycache__``, virtual environments and symlinked
    folders are not searched, and folders that cannot be read are skipped. ``root`` itself is
    always searched; OSError is raised if it cannot be read.
    """
    found: list[DiscoveredPipeline] = []
    # (folder, its path relative to root in posix form); iterative, so depth costs no stack.
    pending: list[tuple[Path, str]] = [(root, "")]
    while pending:
        folder, relative = pending.pop()
        try:
            with os.scandir(folder) as scan:
                entries = list(scan)
        except OSError:
            if relative == "":
                raise
            continue
        if relative and _is_virtual_environment(entries):
            continue
        for entry in entries:
            entry_relative = posixpath.join(relative, entry.name)
            if _is_searchable_folder(entry):
                pending.append((folder / entry.name, entry_relative))
            elif _is_pipeline_file(entry):
                project = project_folder(folder / entry.name, root).relative_to(root)
                found.append(
                    DiscoveredPipeline(
                        path=entry_relative,
                        project="" if project == Path() else project.as_posix(),
                    )
                )
    return sorted(found, key=lambda pipeline: pipeline.path.split("/"))


def project_folder(pipeline_file: Path, root: Path) -> Path:
    """The project ``pipeline_file`` belongs to, as ``root`` joined with a relative path.

    That is the nearest folder at or above the file's own, but not above ``root``, that holds a
    ``.orchest/`` folder; else the file's own folder. Paths are compared as written, without
    resolving symlinks; ValueError is raised if ``pipeline_file`` is not inside ``root``.
    """
    own_folder = Path(os.path.normpath(pipeline_file.parent)).relative_to(os.path.normpath(root))
    for inside in (own_folder, *own_folder.parents):
        if _has_project_marker(root / inside):
            return root / inside
    return root / own_folder


def folder_in_project(pipeline_file: Path, project: Path) -> str:
    """The pipeline file's folder relative to its project, as validation expects it."""
    folder = pipeline_file.parent.relative_to(project).as_posix()
    return "" if folder == "." else folder


def _has_project_marker(folder: Path) -> bool:
    try:
        return (folder / PROJECT_MARKER).is_dir()
    except OSError:
        return False


def _is_searchable_folder(entry: os.DirEntry[str]) -> bool:
    # Hidden folders include the projects' own .orchest/ folders, which hold run state,
    # snapshots and step outputs: copies of pipelines there are not the user's pipelines.
    if entry.name.startswith(".") or entry.name in _SKIPPED_FOLDERS:
        return False
    try:
        # Symlinked folders are not followed: a link to an ancestor would loop forever.
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _is_pipeline_file(entry: os.DirEntry[str]) -> bool:
    # Hidden files are skipped as JupyterLab's file browser hides them.
    if entry.name.startswith(".") or not entry.name.endswith(PIPELINE_SUFFIX):
        return False
    try:
        return entry.is_file()
    except OSError:
        return False


def _is_virtual_environment(entries: list[os.DirEntry[str]]) -> bool:
    """Whether a folder's entries make it a Python virtual or conda environment."""
    for entry in entries:
        if entry.name == "pyvenv.cfg":
            return True
        if entry.name == "conda-meta":
            try:
                if entry.is_dir():
                    return True
            except OSError:
                continue
    return False
