import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_orchest.pipeline import DiscoveredPipeline, find_pipelines, project_folder


def touch(root: Path, *paths: str) -> None:
    for path in paths:
        file = root / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text("{}")


def mkdirs(root: Path, *paths: str) -> None:
    for path in paths:
        (root / path).mkdir(parents=True, exist_ok=True)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    touch(
        tmp_path,
        "top.orchest",
        "loose/alone.orchest",
        "proj/main.orchest",
        "proj/pipelines/deep/etl.orchest",
        "proj/inner/nested.orchest",
        "proj/inner/sub/child.orchest",
        # Run state and snapshots inside a project's .orchest/ are not the user's pipelines.
        "proj/.orchest/pipelines/abc/snapshot/main.orchest",
        ".hidden/secret.orchest",
        # Hidden files, as JupyterLab's file browser hides them.
        "proj/.draft.orchest",
        "node_modules/pkg/fixture.orchest",
        "__pycache__/cached.orchest",
        "venv/pyvenv.cfg",
        "venv/top-level.orchest",
        "venv/lib/python3.11/site-packages/pkg/bundled.orchest",
        "conda/env/share/example.orchest",
        "conda/env/conda-meta/history",
        "folder.orchest/inside.orchest",
        "plain/.orchest",
        "plain/sub/p.orchest",
    )
    mkdirs(tmp_path, "proj/.orchest/environments", "proj/inner/.orchest")
    os.symlink(tmp_path / "proj", tmp_path / "proj" / "pipelines" / "loop")
    os.symlink(tmp_path, tmp_path / "loose" / "up")
    os.symlink(tmp_path / "proj" / "main.orchest", tmp_path / "loose" / "linked.orchest")
    os.symlink(tmp_path / "missing.orchest", tmp_path / "loose" / "broken.orchest")
    return tmp_path


def test_finds_every_pipeline_with_its_project(workspace: Path) -> None:
    assert find_pipelines(workspace) == [
        DiscoveredPipeline("folder.orchest/inside.orchest", "folder.orchest"),
        DiscoveredPipeline("loose/alone.orchest", "loose"),
        DiscoveredPipeline("loose/linked.orchest", "loose"),
        DiscoveredPipeline("plain/sub/p.orchest", "plain/sub"),
        DiscoveredPipeline("proj/inner/nested.orchest", "proj/inner"),
        DiscoveredPipeline("proj/inner/sub/child.orchest", "proj/inner"),
        DiscoveredPipeline("proj/main.orchest", "proj"),
        DiscoveredPipeline("proj/pipelines/deep/etl.orchest", "proj"),
        DiscoveredPipeline("top.orchest", ""),
    ]


def test_the_pipeline_folder_is_given_relative_to_its_project(workspace: Path) -> None:
    folders = {found.path: found.pipeline_dir for found in find_pipelines(workspace)}
    assert folders["proj/pipelines/deep/etl.orchest"] == "pipelines/deep"
    assert folders["proj/inner/sub/child.orchest"] == "sub"
    assert folders["proj/main.orchest"] == ""
    assert folders["loose/alone.orchest"] == ""
    assert folders["top.orchest"] == ""


def test_a_project_at_the_root_owns_the_pipelines_outside_nested_projects(
    workspace: Path,
) -> None:
    (workspace / ".orchest").mkdir()
    projects = {found.path: found.project for found in find_pipelines(workspace)}
    assert projects["top.orchest"] == ""
    assert projects["loose/alone.orchest"] == ""
    assert projects["proj/main.orchest"] == "proj"
    assert projects["proj/inner/sub/child.orchest"] == "proj/inner"


def test_pipelines_are_sorted_by_path_component(tmp_path: Path) -> None:
    touch(tmp_path, "a/z.orchest", "a-b/x.orchest", "a.orchest")
    paths = [found.path for found in find_pipelines(tmp_path)]
    assert paths == ["a/z.orchest", "a-b/x.orchest", "a.orchest"]


def test_unreadable_folders_are_skipped(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_scandir = os.scandir
    refused = workspace / "proj"

    def scandir(path: Path) -> Iterator[os.DirEntry[str]]:
        if Path(path) == refused:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    paths = [found.path for found in find_pipelines(workspace)]
    assert paths == [
        "folder.orchest/inside.orchest",
        "loose/alone.orchest",
        "loose/linked.orchest",
        "plain/sub/p.orchest",
        "top.orchest",
    ]


def test_an_unreadable_root_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        find_pipelines(tmp_path / "missing")


def test_very_deep_trees_need_no_recursion(tmp_path: Path) -> None:
    depth = 1200  # deeper than Python's default recursion limit
    deep = tmp_path
    # Made and removed one folder at a time: pathlib and shutil.rmtree recurse.
    for _ in range(depth):
        deep = deep / "d"
        deep.mkdir()
    (deep / "bottom.orchest").write_text("{}")
    try:
        [found] = find_pipelines(tmp_path)
    finally:
        (deep / "bottom.orchest").unlink()
        for _ in range(depth):
            deep.rmdir()
            deep = deep.parent
    assert found.path == "d/" * depth + "bottom.orchest"
    assert found.project == "d/" * (depth - 1) + "d"


def test_project_folder_is_the_nearest_folder_with_a_project_marker(workspace: Path) -> None:
    pipeline = workspace / "proj" / "pipelines" / "deep" / "etl.orchest"
    assert project_folder(pipeline, workspace) == workspace / "proj"
    assert project_folder(workspace / "proj" / "main.orchest", workspace) == workspace / "proj"


def test_project_folder_falls_back_to_the_pipelines_own_folder(workspace: Path) -> None:
    pipeline = workspace / "loose" / "alone.orchest"
    assert project_folder(pipeline, workspace) == workspace / "loose"
    assert project_folder(workspace / "top.orchest", workspace) == workspace


def test_project_folder_never_looks_above_the_root(workspace: Path) -> None:
    root = workspace / "proj" / "pipelines"
    assert project_folder(root / "deep" / "etl.orchest", root) == root / "deep"


def test_project_folder_works_with_relative_paths(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workspace)
    assert project_folder(Path("proj/pipelines/x.orchest"), Path(".")) == Path("proj")
    assert project_folder(Path("./proj/inner/../main.orchest"), Path()) == Path("proj")


def test_project_folder_refuses_files_outside_the_root(workspace: Path) -> None:
    with pytest.raises(ValueError):
        project_folder(workspace / "top.orchest", workspace / "proj")
    with pytest.raises(ValueError):
        project_folder(workspace / "proj" / ".." / "top.orchest", workspace / "proj")
