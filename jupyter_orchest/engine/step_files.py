"""The files a step writes beside its outputs, kept with its result and put back on a hit.

After a step executed, the files it created or changed in its project and data folders (see
`written_files`) are attributed to it (see `write_windows`) and copied into the cache with its
result. A file written while another step that can write there executed is shared: it is
recorded with its digest but not kept, since it may be the other step's, and a hit needs it
present as it was (else the step runs again, and says why). A step declares a file its own with
`output_files`, which settles whose it is.

On a hit, every kept file that is missing or differs is written back (never through a symbolic
link, never outside its folder); nothing is written unless all of them can be.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cache import CacheEntry, FileChanged, ObjectMissing, StepCache, StoredFile
from .file_restore import UnsafePath, state_under, write_under
from .hashing import FileDigests, file_identity
from .model import format_size
from .provenance import WrittenFile
from .write_windows import CLOCK_SLACK_NS, Window, WriteWindows
from .written_files import FileRoots, SeenFile, display_path, scan_changes

ANOTHER_WRITER = "another program"
"""Who else wrote a file that changed while it was copied into the cache."""


@dataclass(frozen=True)
class KeptFiles:
    """What a step run wrote, and what of it the cache took."""

    files: tuple[WrittenFile, ...] = ()
    stored: tuple[StoredFile, ...] = ()
    """The contents added to the cache, for the step's entry."""
    details: list[list[Any]] = field(default_factory=list)
    """For the entry: [root, path, size, digest, identity, shared_with] per file."""
    not_cached: str = ""
    """Why the result cannot be cached; empty when it can."""


@dataclass(frozen=True)
class RestorePlan:
    files: tuple[WrittenFile, ...]
    writes: tuple[tuple[StoredFile, str, str], ...]
    """(content, root, path) of the files missing or different on disk."""
    refusal: str = ""
    """Why the entry cannot be used here; the step then runs."""


class StepFiles:
    """The files of one run's steps: `keep` after a step executed, `plan` and `restore` on a
    hit. Every method blocks on disk: call it off the event loop."""

    def __init__(
        self, cache: StepCache, windows: WriteWindows, roots: FileRoots, run_id: str
    ) -> None:
        self.cache, self.windows, self.roots, self.run_id = cache, windows, roots, run_id
        self.digests: FileDigests = cache.digests

    def keep(self, window: Window) -> KeptFiles:
        """Attribute the files changed in the (closed) window, and copy the step's own into
        the cache unless one is too big."""
        assert window.end_ns is not None
        seen = scan_changes(
            self.roots, window.start_ns - CLOCK_SLACK_NS, window.end_ns, window.patterns
        )
        own: list[SeenFile] = []
        shared: list[tuple[SeenFile, tuple[str, ...]]] = []
        for file in seen:
            writers = self._other_writers(window, file)
            if writers is None:
                continue
            if writers:
                shared.append((file, writers))
            else:
                own.append(file)
        not_cached = self._too_big(own)
        details: list[list[Any]] = []
        files: list[WrittenFile] = []
        stored: list[StoredFile] = []
        for file in own:
            path = self._path(file)
            try:
                if not_cached:
                    digest = self._digest_within_limit(path, file.size)
                else:
                    content = self.cache.add_copy(f"@{file.root}/{file.path}", path, file.identity)
                    stored.append(content)
                    digest = content.digest
            except FileChanged:
                shared.append((file, (ANOTHER_WRITER,)))
                continue
            except FileNotFoundError:  # removed since the scan: not an output after all
                continue
            files.append(WrittenFile(file.root, file.path, file.size, digest))
            details.append([file.root, file.path, file.size, digest, list(file.identity), []])
        for file, writers in shared:
            try:
                digest = self.digests.digest(self._path(file))
            except FileNotFoundError:
                continue
            files.append(WrittenFile(file.root, file.path, file.size, digest, writers))
            details.append(
                [file.root, file.path, file.size, digest, list(file.identity), list(writers)]
            )
        return KeptFiles(tuple(files), tuple(stored), details, not_cached)

    def plan(self, entry: CacheEntry) -> RestorePlan:
        """What a hit on `entry` writes, read-only; a refusal when it cannot be used."""
        files: list[WrittenFile] = []
        writes: list[tuple[StoredFile, str, str]] = []
        for root, path, size, digest, identity, shared_with in entry.details.get("files", []):
            written = WrittenFile(root, path, size, digest, tuple(shared_with))
            files.append(written)
            shown = f"`{display_path(root, path)}`"
            try:
                state = state_under(self.roots.folder(root), path)
            except UnsafePath as error:
                return RestorePlan((), (), f"its file cannot be written back: {error}")
            if state is not None and self._same(written, state, identity):
                continue
            if shared_with:
                how = "missing" if state is None else "changed"
                writers = ", ".join(
                    writer if writer == ANOTHER_WRITER else f"`{writer}`" for writer in shared_with
                )
                return RestorePlan(
                    (),
                    (),
                    f"{shown} is {how} and the cache did not keep it, as {writers} executed "
                    "at the same time and could have written it",
                )
            content = entry.file(f"@{root}/{path}")
            if content is None:
                raise ObjectMissing(f"the entry lists {shown} but does not keep it")
            writes.append((content, root, path))
        return RestorePlan(tuple(files), tuple(writes))

    def restore(self, plan: RestorePlan) -> None:
        for content, root, path in plan.writes:
            with self.cache.open(content) as stream:
                written = write_under(self.roots.folder(root), path, stream)
            self.windows.note_foreign_write(written)

    # Inside

    def _other_writers(self, window: Window, file: SeenFile) -> tuple[str, ...] | None:
        """The other steps that may have written the file: () when it is this step's alone,
        None when it is not this step's at all."""
        path = self._path(file)
        if self.windows.is_foreign(path, file.identity):
            return None
        writers = self.windows.writers_at(path, file.changed_ns)
        others = [other for other in writers if other is not window]
        claiming = [other for other in others if other.patterns.declares(file.root, file.path)]
        if file.declared:
            return tuple(self._name(other) for other in claiming)
        if claiming or window not in writers:
            return None  # another step declares it, or wrote it just before this one started
        return tuple(self._name(other) for other in others)

    def _name(self, window: Window) -> str:
        if window.run_id == self.run_id:
            return window.title
        return f"{window.title} (run {window.run_id[:8]})"

    def _too_big(self, own: list[SeenFile]) -> str:
        limit = self.cache.max_file_bytes
        for file in own:
            if file.size > limit:
                return (
                    f"`{display_path(file.root, file.path)}` is {format_size(file.size)}, more "
                    f"than the {format_size(limit)} the cache takes in a file "
                    "(the setting cache_max_file_bytes)"
                )
        total = sum(file.size for file in own)
        if total > self.cache.max_bytes:
            return (
                f"its files take {format_size(total)}, more than the whole cache holds "
                f"({format_size(self.cache.max_bytes)})"
            )
        return ""

    def _digest_within_limit(self, path: Path, size: int) -> str:
        """The digest of a file of an uncacheable step; "" for one too big to read for it."""
        return self.digests.digest(path) if size <= self.cache.max_file_bytes else ""

    def _same(self, file: WrittenFile, state: os.stat_result, identity: list[int]) -> bool:
        """Whether the file on disk holds the recorded content."""
        if list(file_identity(state)) == identity:
            return True  # untouched since it was recorded
        if state.st_size != file.size:
            return False
        return self.digests.digest(self.roots.folder(file.root) / file.path) == file.digest

    def _path(self, file: SeenFile) -> Path:
        return self.roots.folder(file.root) / file.path
