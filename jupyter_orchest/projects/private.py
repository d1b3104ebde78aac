"""A project's private folder, `.orchest/private/`: what belongs to this copy of the project
only and must be neither committed nor copied into a job's snapshot: the project's uuid, its
environment variables (which hold secrets) and the key their digests are made with.

The folder is its owner's alone (0700, files 0600) and holds a `.gitignore` that ignores
everything in it, itself included, so git never offers to commit it. Snapshots keep nothing
of `.orchest/` but the environment definitions, so a job's copies never hold it either.
"""

import contextlib
import os
import tempfile
from pathlib import Path

PRIVATE_DIR = Path(".orchest", "private")
IGNORE_EVERYTHING = "# Private to this copy of the project: never committed.\n*\n"


def private_dir(project_dir: Path) -> Path:
    return project_dir / PRIVATE_DIR


def ensure_private_dir(project_dir: Path) -> Path:
    """The private folder, made (owner only, ignored by git) if it is not there; OSError if
    it cannot be."""
    folder = private_dir(project_dir)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)  # also when it existed with looser rights
    ignore = folder / ".gitignore"
    if not ignore.is_file():
        write_private(ignore, IGNORE_EVERYTHING.encode("utf-8"))
    return folder


def write_private(path: Path, data: bytes) -> None:
    """Replace (or create) `path` with `data`, readable by its owner only; a crash leaves
    the old file or the new one, never a truncated one."""
    temporary = _temporary_copy(path, data)
    try:
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def create_private(path: Path, data: bytes) -> bytes:
    """`path`'s contents: `data` written now if the file did not exist, else what another
    process wrote first (never overwritten)."""
    temporary = _temporary_copy(path, data)
    try:
        os.link(temporary, path)  # unlike a rename, a link never replaces an existing file
    except FileExistsError:
        return path.read_bytes()
    finally:
        os.unlink(temporary)
    return data


def _temporary_copy(path: Path, data: bytes) -> str:
    """A file beside `path` holding `data`, on disk, owner only (as mkstemp makes it)."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:
        os.unlink(temporary)
        raise
    return temporary
