"""Writes that never leave a truncated file behind.

The data goes to a temporary file in the target's folder, is flushed to disk, and only
then takes the target's name in one rename, so a crash or a full disk at any moment leaves
either the old file or the new one.
"""

import os
import tempfile
from contextlib import suppress
from pathlib import Path


def _default_file_mode() -> int:
    # The umask can only be read by setting it; this runs once, at import time.
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


DEFAULT_FILE_MODE = _default_file_mode()


def _write_temporary(folder: Path, name: str, data: bytes, mode: int) -> Path:
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return Path(temporary)


def write_atomic(path: Path, text: str) -> None:
    """Replace (or create) `path` with `text`, keeping the old file's permissions."""
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = DEFAULT_FILE_MODE
    temporary = _write_temporary(path.parent, path.name, text.encode("utf-8"), mode)
    try:
        os.replace(temporary, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def create_exclusive(path: Path, text: str) -> None:
    """Create `path` with `text`; raise FileExistsError if it exists, never overwriting it."""
    temporary = _write_temporary(path.parent, path.name, text.encode("utf-8"), DEFAULT_FILE_MODE)
    try:
        # A hard link, unlike a rename, refuses to replace an existing file.
        os.link(temporary, path)
    finally:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
