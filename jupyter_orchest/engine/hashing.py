"""Content hashes: BLAKE3 for bytes (fast, streamed, never loading a file whole), SHA-256 of
canonical JSON for keys that must stay stable across versions and machines."""

import hashlib
import json
import os
from collections import OrderedDict
from pathlib import Path
from threading import Lock
from typing import Any

import blake3

CHUNK_BYTES = 1 << 20
"""Read size when hashing a file: large enough to keep BLAKE3's SIMD busy, small in memory."""


def stable_key(value: Any) -> str:
    """SHA-256 of `value` as canonical JSON (sorted keys, no spaces): equal values, equal keys."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def bytes_digest(data: bytes) -> str:
    return blake3.blake3(data).hexdigest()


def file_digest(path: Path) -> str:
    """BLAKE3 of the file's bytes, read in chunks into one reused buffer."""
    hasher = blake3.blake3()
    buffer = bytearray(CHUNK_BYTES)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as file:
        while read := file.readinto(buffer):
            hasher.update(view[:read])
    return hasher.hexdigest()


class FileDigests:
    """File digests remembered by the file's identity and state (device, inode, size, times),
    so that a parent's outputs are read once, when they are written, not again by every child
    that checks its inputs. Outputs are replaced by renames, never rewritten in place, so a
    changed file shows as a new inode."""

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._known: OrderedDict[tuple[int, ...], str] = OrderedDict()
        self._lock = Lock()  # used from worker threads

    def digest(self, path: Path) -> str:
        identity = file_identity(os.stat(path))
        with self._lock:
            known = self._known.get(identity)
            if known is not None:
                self._known.move_to_end(identity)
                return known
        digest = file_digest(path)
        if file_identity(os.stat(path)) == identity:  # unchanged while it was read
            self.remember(identity, digest)
        return digest

    def known(self, identity: tuple[int, ...]) -> str | None:
        """The digest of a file in this state, if it was read before."""
        with self._lock:
            return self._known.get(identity)

    def remember(self, identity: tuple[int, ...], digest: str) -> None:
        with self._lock:
            self._known[identity] = digest
            self._known.move_to_end(identity)
            while len(self._known) > self.capacity:
                self._known.popitem(last=False)


def file_identity(stat: os.stat_result) -> tuple[int, ...]:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
