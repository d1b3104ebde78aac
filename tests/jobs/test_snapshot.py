import errno
import os
from pathlib import Path

import pytest

from jupyter_orchest.jobs import snapshot
from jupyter_orchest.jobs.snapshot import SnapshotError, copy_snapshot, take_snapshot


def files_under(folder: Path) -> set[str]:
    return {
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() or path.is_symlink()
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    for name, text in {
        "main.orchest": "{}",
        "step.ipynb": "{}",
        "lib/util.py": "x = 1",
        "lib/.gitignore": "*.tmp\n",
        "lib/scratch.tmp": "scratch",
        ".gitignore": "*.csv\n!keep.csv\nbig/\n",
        "table.csv": "a,b",
        "keep.csv": "a,b",
        "big/huge.bin": "0" * 100,
        "sub/big/nested.bin": "0",
        "data/input.parquet": "0",
        ".git/HEAD": "ref",
        "__pycache__/step.pyc": "0",
        ".orchest/environments/env-1/properties.json": "{}",
        ".orchest/.gitignore": "pipelines/\n",
        ".orchest/pipelines/p/data/s/out": "0",
        ".orchest/jobs/j/snapshot/x": "0",
        ".orchest/venvs/env-1/1/bin/python": "0",
    }.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    return project


def test_a_snapshot_holds_the_code_and_leaves_out_ignored_files_state_and_data(
    project: Path, tmp_path: Path
) -> None:
    summary = take_snapshot(project, tmp_path / "snap", excluded=[project / "data"])

    assert files_under(tmp_path / "snap") == {
        "main.orchest",
        "step.ipynb",
        "lib/util.py",
        "lib/.gitignore",
        ".gitignore",
        "keep.csv",
        ".orchest/environments/env-1/properties.json",
        ".orchest/.gitignore",
    }
    assert summary.files == 8
    assert (tmp_path / "snap" / "lib" / "util.py").read_text() == "x = 1"


def test_links_inside_the_project_are_kept_and_links_outside_are_left_out(
    project: Path, tmp_path: Path
) -> None:
    (tmp_path / "secret").write_text("outside")
    (project / "outside").symlink_to(tmp_path / "secret")
    (project / "inside").symlink_to("lib/util.py")

    summary = take_snapshot(project, tmp_path / "snap")

    assert os.readlink(tmp_path / "snap" / "inside") == "lib/util.py"
    assert not (tmp_path / "snap" / "outside").exists()
    assert summary.skipped_links == ("outside",)


def test_each_run_gets_its_own_copy(project: Path, tmp_path: Path) -> None:
    take_snapshot(project, tmp_path / "snap")

    copy_snapshot(tmp_path / "snap", tmp_path / "run-1")
    (tmp_path / "run-1" / "step.ipynb").write_text("changed by the run")

    assert (tmp_path / "snap" / "step.ipynb").read_text() == "{}"
    assert files_under(tmp_path / "run-1") == files_under(tmp_path / "snap")


def test_an_existing_destination_is_never_overwritten(project: Path, tmp_path: Path) -> None:
    (tmp_path / "snap").mkdir()
    (tmp_path / "snap" / "mine").write_text("keep me")

    with pytest.raises(SnapshotError, match="exists already"):
        take_snapshot(project, tmp_path / "snap")

    assert (tmp_path / "snap" / "mine").read_text() == "keep me"


def test_a_full_disk_leaves_nothing_behind_and_says_what_to_do(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A tiny filesystem cannot be mounted without privileges: the copy fails as one would.
    copies = 0

    def copy_until_full(source: Path, target: Path) -> None:
        nonlocal copies
        copies += 1
        if copies == 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        Path(target).write_bytes(Path(source).read_bytes())

    monkeypatch.setattr(snapshot.shutil, "copy2", copy_until_full)

    with pytest.raises(SnapshotError, match="The disk is full"):
        take_snapshot(project, tmp_path / "snap")

    assert sorted(path.name for path in tmp_path.iterdir()) == ["project"]
