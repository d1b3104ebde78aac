import errno
import os
import stat
from pathlib import Path

import pytest

from jupyter_orchest.services import atomic
from jupyter_orchest.services.atomic import create_exclusive, write_atomic


def test_write_atomic_replaces_content_and_keeps_permissions(tmp_path: Path) -> None:
    target = tmp_path / "p.orchest"
    target.write_text("old")
    target.chmod(0o640)
    write_atomic(target, "new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.orchest"]


def test_write_atomic_creates_missing_file_with_default_mode(tmp_path: Path) -> None:
    target = tmp_path / "new.orchest"
    write_atomic(target, "{}")
    assert target.read_text() == "{}"
    assert stat.S_IMODE(target.stat().st_mode) == atomic.DEFAULT_FILE_MODE


def test_disk_full_mid_write_leaves_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real full disk cannot be made here without mount privileges, so the failure is
    # injected at the one system call that reaches the disk's free space.
    target = tmp_path / "p.orchest"
    target.write_text("the original, complete definition")

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, "x" * 100_000)
    assert target.read_text() == "the original, complete definition"
    assert [p.name for p in tmp_path.iterdir()] == ["p.orchest"]


def test_failed_rename_removes_the_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "p.orchest"
    target.write_text("old")

    def refuse(src: str, dst: str) -> None:
        raise PermissionError(errno.EACCES, "denied")

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(PermissionError):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["p.orchest"]


def test_create_exclusive_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "p.orchest"
    create_exclusive(target, "first")
    with pytest.raises(FileExistsError):
        create_exclusive(target, "second")
    assert target.read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["p.orchest"]
