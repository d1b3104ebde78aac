"""Files that appear whole or not at all, and a lock for a folder.

A reader (a child step, the server) must never see half an output: data is streamed to a
temporary file in the target's folder and only then renamed over the target, which is atomic
on POSIX file systems and on Windows.

No fsync: outputs can always be made again by rerunning their step, and forcing gigabytes to
disk would make every step wait for the disk although its children read the data back from the
page cache. The manifest records each file's size, so a file cut short by a power loss is
noticed on reading rather than returned.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import BinaryIO

TEMPORARY_SUFFIX = ".tmp"
_O_BINARY: int = getattr(os, "O_BINARY", 0)  # Windows would otherwise translate newlines


def write_atomic(path: str, write: Callable[[BinaryIO], object]) -> int:
    """Create or replace ``path`` with what ``write`` writes to the file it is given.

    Returns the file's size. If ``write`` raises, nothing is left behind and the old file, if
    any, is unchanged.
    """
    folder, name = os.path.split(path)
    # Not tempfile.mkstemp: its files are private (0600), and outputs must stay readable by
    # steps running as another user, such as in a container; os.open applies the umask.
    temporary = os.path.join(folder, f".{name}.{os.urandom(6).hex()}{TEMPORARY_SUFFIX}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o666)
    try:
        with os.fdopen(fd, "wb") as stream:
            write(stream)
            size = stream.tell()
        os.replace(temporary, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return size


def write_bytes_atomic(path: str, data: bytes) -> int:
    return write_atomic(path, lambda stream: stream.write(data))


@contextmanager
def folder_lock(folder: str) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (released on exit), across processes.

    Updating a manifest is read, change, replace; two processes of one step (a script and the
    workers it spawns) outputting at once would otherwise lose one another's entries. Locking
    the folder itself leaves no lock file behind. Where ``fcntl`` does not exist (Windows) this
    does not lock.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
