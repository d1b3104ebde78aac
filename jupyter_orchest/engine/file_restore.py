"""Writing a file back under a folder, never outside it.

Paths come from a cache entry and are relative to a step's folder. Each folder on the way is
opened relative to the one before with O_NOFOLLOW, so that a symbolic link anywhere on the way
(put there after the file was recorded, or while it is written) is refused instead of followed
out of the folder. The file itself is replaced by a rename, never written through.
"""

import contextlib
import errno
import os
import shutil
import stat
import uuid
from pathlib import Path
from typing import BinaryIO

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY
CHUNK_BYTES = 1 << 20


class UnsafePath(Exception):
    """A path that leads through a symbolic link, or names something else than a file."""


def relative_parts(relative: str) -> list[str]:
    parts = relative.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise UnsafePath(f"`{relative}` is not a plain relative path")
    return parts


def state_under(root: Path, relative: str) -> os.stat_result | None:
    """The file's state, or None when it (or a folder on its way) does not exist;
    UnsafePath when its way goes through a symbolic link or it is not a regular file."""
    path = root
    parts = relative_parts(relative)
    for index, part in enumerate(parts):
        path = path / part
        try:
            found = os.lstat(path)
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(found.st_mode):
            raise UnsafePath(f"`{relative}` leads through the symbolic link `{part}`")
        last = index == len(parts) - 1
        if last and not stat.S_ISREG(found.st_mode):
            raise UnsafePath(f"`{relative}` is not a regular file")
        if not last and not stat.S_ISDIR(found.st_mode):
            raise UnsafePath(f"`{relative}` leads through `{part}`, which is not a folder")
    return found


def write_under(root: Path, relative: str, content: BinaryIO) -> Path:
    """Create or replace `root/relative` with `content`, making the folders it needs."""
    parts = relative_parts(relative)
    folder = os.open(root, _DIRECTORY)
    try:
        for part in parts[:-1]:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, dir_fd=folder)
            try:
                inner = os.open(part, _DIRECTORY | os.O_NOFOLLOW, dir_fd=folder)
            except OSError as error:
                if error.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise UnsafePath(f"`{relative}` leads through `{part}`, no folder") from None
                raise
            os.close(folder)
            folder = inner
        name = parts[-1]
        with contextlib.suppress(FileNotFoundError):
            if not stat.S_ISREG(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode):
                raise UnsafePath(f"`{relative}` is not a regular file")
        temporary = f".{name}.{uuid.uuid4().hex}.restoring"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        target = os.open(temporary, flags, 0o666, dir_fd=folder)
        try:
            with os.fdopen(target, "wb") as stream:
                shutil.copyfileobj(content, stream, CHUNK_BYTES)
            os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=folder)
            raise
    finally:
        os.close(folder)
    return root.joinpath(*parts)
