"""The step cache: what a step computed, found again by its key.

Layout of the cache folder::

    index.sqlite              entries (key -> outputs), objects (digest -> size), references
    objects/<2 hex>/<62 hex>  file contents, named by their BLAKE3 digest, read-only
    incoming/                 files being added (renamed into objects/ once complete)

Contents are stored once however many entries refer to them. When the objects' total size
passes `max_bytes`, the least recently used entries go, then the objects no entry refers to.
A step's outputs are added by a hard link when the cache is on the same file system (they are
never rewritten in place: the SDK replaces files by renames), else by a copy; restored the same
way. The other files a step writes are the user's, who may rewrite them in place: they are
always copied, in and out.
SQLite serializes the server and command-line runs that share a cache.
"""

import contextlib
import json
import os
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import blake3

from .hashing import CHUNK_BYTES, FileDigests, file_identity

DEFAULT_CACHE_MAX_BYTES = 10 * 2**30
DEFAULT_CACHE_MAX_FILE_BYTES = 2**30


def default_cache_dir() -> Path:
    """`orchest/cache` in Jupyter's data folder: the server's and the command line's."""
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "orchest" / "cache"


SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    static_key TEXT NOT NULL,
    step_uuid TEXT NOT NULL,
    run_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_used_at REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_use ON entries (last_used_at);
CREATE INDEX IF NOT EXISTS entries_by_static_key ON entries (static_key);
CREATE INDEX IF NOT EXISTS entries_by_step ON entries (step_uuid);
CREATE TABLE IF NOT EXISTS objects (digest TEXT PRIMARY KEY, size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS refs (
    key TEXT NOT NULL REFERENCES entries (key) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    PRIMARY KEY (key, digest)
);
CREATE INDEX IF NOT EXISTS refs_by_digest ON refs (digest);
"""


@dataclass(frozen=True)
class StoredFile:
    """One file of an entry: where it goes back to, and its content's digest."""

    name: str
    """The file's name in the step's outputs folder; or a role ("log", "notebook")."""
    digest: str
    size: int


@dataclass(frozen=True)
class CacheEntry:
    key: str
    static_key: str
    """The key without the inputs: predicts a hit before the parents have run."""
    step_uuid: str
    run_id: str
    """The run that computed it."""
    created_at: float
    files: tuple[StoredFile, ...]
    details: dict[str, Any]
    """What the cache keeps for whoever restores it (the outputs' manifest entries)."""

    def file(self, name: str) -> StoredFile | None:
        return next((file for file in self.files if file.name == name), None)


@dataclass(frozen=True)
class CacheUsage:
    entries: int
    objects: int
    bytes: int


class ObjectMissing(Exception):
    """An entry's content is gone from the folder (removed by hand, or a concurrent eviction)."""


class FileChanged(Exception):
    """A file changed while it was copied into the cache: something is still writing it."""


class StepCache:
    """The content-addressed store and its index. Every method may block on disk: call it off
    the event loop. `max_bytes` 0 keeps nothing; `max_file_bytes` is the largest file a step
    writes (beside its outputs) that its result may keep: the caller checks it."""

    def __init__(
        self,
        folder: Path,
        max_bytes: int,
        digests: FileDigests | None = None,
        max_file_bytes: int = DEFAULT_CACHE_MAX_FILE_BYTES,
    ) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.max_file_bytes = max_file_bytes
        self.digests = digests or FileDigests()
        self._connections = threading.local()

    # Entries

    def lookup(self, key: str) -> CacheEntry | None:
        """The entry for `key`, marked as just used; None if there is none."""
        with self._index() as index:
            row = index.execute("SELECT * FROM entries WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            index.execute("UPDATE entries SET last_used_at = ? WHERE key = ?", (time.time(), key))
        return _entry(row)

    def knows_step(self, step_uuid: str) -> bool:
        with self._index() as index:
            row = index.execute("SELECT 1 FROM entries WHERE step_uuid = ? LIMIT 1", (step_uuid,))
            return row.fetchone() is not None

    def knows_static_key(self, static_key: str) -> bool:
        with self._index() as index:
            query = "SELECT 1 FROM entries WHERE static_key = ? LIMIT 1"
            return index.execute(query, (static_key,)).fetchone() is not None

    def store(
        self,
        *,
        key: str,
        static_key: str,
        step_uuid: str,
        run_id: str,
        files: dict[str, Path],
        details: dict[str, Any],
        copies: tuple["StoredFile", ...] = (),
    ) -> CacheEntry:
        """Keep `files` (by name) under `key`, with `copies` already added by `add_copy`,
        replacing an entry of the same key, then evict down to the size limit (which may
        evict this entry if it alone is too large)."""
        stored = tuple(self._add_object(name, path) for name, path in files.items()) + copies
        now = time.time()
        entry = CacheEntry(key, static_key, step_uuid, run_id, now, stored, details)
        body = json.dumps(
            {"files": [[f.name, f.digest, f.size] for f in stored], "details": details}
        )
        with self._index() as index:
            index.execute("DELETE FROM entries WHERE key = ?", (key,))
            index.execute(
                "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, static_key, step_uuid, run_id, now, now, body),
            )
            index.executemany(
                "INSERT OR IGNORE INTO refs VALUES (?, ?)", [(key, f.digest) for f in stored]
            )
        self.evict()
        return entry

    def restore_file(self, file: StoredFile, target: Path) -> None:
        """Put the file's content at `target` (replaced atomically); ObjectMissing if gone."""
        source = self._object_path(file.digest)
        try:
            if source.stat().st_size != file.size:
                raise ObjectMissing(f"the cached content {file.digest} is damaged")
        except FileNotFoundError:
            raise ObjectMissing(f"the cached content {file.digest} is gone") from None
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.restoring")
        _link_or_copy(source, temporary)
        os.replace(temporary, target)

    def add_copy(self, name: str, path: Path, identity: tuple[int, ...]) -> StoredFile:
        """Copy a user's file into the store, read once (hashed as it is copied), unless its
        content is there already; FileChanged if it is not in the state `identity` says."""
        known = self.digests.known(identity)
        if known is not None and self._object_path(known).exists():
            return self._registered(name, known, identity[2])
        incoming = self.folder / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        temporary = incoming / uuid.uuid4().hex
        hasher = blake3.blake3()
        try:
            with open(path, "rb") as source, open(temporary, "wb") as target:
                while chunk := source.read(CHUNK_BYTES):
                    hasher.update(chunk)
                    target.write(chunk)
            if file_identity(os.stat(path)) != identity:
                raise FileChanged(f"{path} changed while it was being cached")
            digest = hasher.hexdigest()
            self.digests.remember(identity, digest)
            target_path = self._object_path(digest)
            if not target_path.exists():
                temporary.chmod(0o444)
                target_path.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temporary, target_path)
        finally:
            temporary.unlink(missing_ok=True)
        return self._registered(name, digest, identity[2])

    def open(self, file: StoredFile) -> BinaryIO:
        """The stored content, to read; ObjectMissing if it is gone or damaged."""
        try:
            stream = open(self._object_path(file.digest), "rb")  # noqa: SIM115 (the caller's)
        except FileNotFoundError:
            raise ObjectMissing(f"the cached content {file.digest} is gone") from None
        if os.fstat(stream.fileno()).st_size != file.size:
            stream.close()
            raise ObjectMissing(f"the cached content {file.digest} is damaged")
        return stream

    def read_text(self, file: StoredFile) -> str:
        try:
            return self._object_path(file.digest).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ObjectMissing(f"the cached content {file.digest} is gone") from None

    def read_tail(self, file: StoredFile, size: int) -> tuple[str, int]:
        """The end of a stored text, at most `size` bytes of it (from a character's start),
        and how many bytes come before: a log of hundreds of megabytes is never read whole."""
        try:
            with self._object_path(file.digest).open("rb") as stored:
                start = max(0, stored.seek(0, os.SEEK_END) - size)
                stored.seek(start)
                tail = stored.read()
        except FileNotFoundError:
            raise ObjectMissing(f"the cached content {file.digest} is gone") from None
        skip = 0
        while skip < min(3, len(tail)) and tail[skip] & 0xC0 == 0x80:  # inside a character
            skip += 1
        return tail[skip:].decode("utf-8", errors="replace"), start + skip

    def forget(self, key: str) -> None:
        """Drop an entry whose content turned out to be missing."""
        with self._index() as index:
            index.execute("DELETE FROM entries WHERE key = ?", (key,))
        self._remove_unreferenced()

    # Size

    def usage(self) -> CacheUsage:
        with self._index() as index:
            entries = index.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
            objects, size = index.execute("SELECT COUNT(*), SUM(size) FROM objects").fetchone()
        return CacheUsage(entries, objects, size or 0)

    def evict(self) -> int:
        """Remove least recently used entries until the contents fit in `max_bytes`; returns
        how many entries went."""
        evicted = 0
        while True:
            with self._index() as index:
                total = index.execute("SELECT COALESCE(SUM(size), 0) FROM objects").fetchone()[0]
                if total <= self.max_bytes:
                    break
                oldest = index.execute(
                    "SELECT key FROM entries ORDER BY last_used_at LIMIT 1"
                ).fetchone()
                if oldest is None:  # contents no entry refers to any more
                    self._remove_unreferenced()
                    break
                index.execute("DELETE FROM entries WHERE key = ?", (oldest[0],))
            evicted += 1
            self._remove_unreferenced()
        return evicted

    def clear(self) -> CacheUsage:
        """Remove everything; returns what was there."""
        before = self.usage()
        with self._index() as index:
            index.execute("DELETE FROM entries")
        self._remove_unreferenced()
        return before

    # Inside

    def _add_object(self, name: str, path: Path) -> StoredFile:
        size = path.stat().st_size
        digest = self.digests.digest(path)
        target = self._object_path(digest)
        if not target.exists():
            incoming = self.folder / "incoming"
            incoming.mkdir(parents=True, exist_ok=True)
            temporary = incoming / uuid.uuid4().hex
            _link_or_copy(path, temporary)
            # Read-only, so that a restored hard link cannot be rewritten in place by mistake.
            temporary.chmod(0o444)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, target)
        return self._registered(name, digest, size)

    def _registered(self, name: str, digest: str, size: int) -> StoredFile:
        with self._index() as index:
            index.execute("INSERT OR IGNORE INTO objects VALUES (?, ?)", (digest, size))
        return StoredFile(name, digest, size)

    def _remove_unreferenced(self) -> None:
        with self._index() as index:
            doomed = [
                row[0]
                for row in index.execute(
                    "SELECT digest FROM objects WHERE digest NOT IN (SELECT digest FROM refs)"
                )
            ]
            index.executemany("DELETE FROM objects WHERE digest = ?", [(d,) for d in doomed])
        for digest in doomed:
            with contextlib.suppress(FileNotFoundError):
                self._object_path(digest).unlink()

    def _object_path(self, digest: str) -> Path:
        return self.folder / "objects" / digest[:2] / digest[2:]

    @contextlib.contextmanager
    def _index(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, in one transaction committed on success. Connections are
        kept per thread (SQLite's own rule), so that each call does not open the file anew."""
        connection: sqlite3.Connection | None = getattr(self._connections, "connection", None)
        if connection is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.folder / "index.sqlite", timeout=30.0)
            connection.execute("PRAGMA foreign_keys = ON")
            connection.execute("PRAGMA journal_mode = WAL")
            # With WAL, NORMAL never corrupts the index; a power loss may forget the last
            # entries, which costs a recomputation at worst. FULL would wait for the disk.
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.executescript(SCHEMA)
            self._connections.connection = connection
        with connection:
            yield connection


def _entry(row: tuple[Any, ...]) -> CacheEntry:
    key, static_key, step_uuid, run_id, created_at, _, body = row
    parsed = json.loads(body)
    files = tuple(StoredFile(name, digest, size) for name, digest, size in parsed["files"])
    return CacheEntry(key, static_key, step_uuid, run_id, created_at, files, parsed["details"])


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed
        shutil.copyfile(source, target)
