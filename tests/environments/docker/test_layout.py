"""Host paths as containers see them (no Docker needed)."""

from pathlib import Path, PurePosixPath

from jupyter_orchest.environments.docker.layout import PathMap, ProjectMounts


def test_paths_under_the_project_and_the_data_folder_are_translated(tmp_path: Path) -> None:
    project = tmp_path / "project"
    paths = PathMap(ProjectMounts(project, project / "data").pairs())
    assert paths.path(project) == PurePosixPath("/project-dir")
    assert paths.path(project / "steps" / "a.py") == PurePosixPath("/project-dir/steps/a.py")
    # A data folder inside the project is reached as /data, the more specific mount.
    assert paths.path(project / "data" / "x.csv") == PurePosixPath("/data/x.csv")
    assert paths.path(tmp_path / "elsewhere") is None
    assert paths.path(tmp_path / "project-other") is None, "a prefix is not a parent"


def test_variables_holding_host_paths_are_translated_and_others_kept(tmp_path: Path) -> None:
    project = tmp_path / "project"
    paths = PathMap(ProjectMounts(project, tmp_path / "data").pairs())
    env = {
        "ORCHEST_PROJECT_DIR": str(project),
        "ORCHEST_OUTPUTS_DIR": str(project / ".orchest" / "pipelines" / "p" / "data"),
        "ORCHEST_DATA_DIR": str(tmp_path / "data"),
        "ORCHEST_PIPELINE_PATH": "pipelines/main.orchest",
        "OTHER": str(tmp_path / "unmounted"),
        "GREETING": "hello",
    }
    assert paths.environment(env) == {
        "ORCHEST_PROJECT_DIR": "/project-dir",
        "ORCHEST_OUTPUTS_DIR": "/project-dir/.orchest/pipelines/p/data",
        "ORCHEST_DATA_DIR": "/data",
        "ORCHEST_PIPELINE_PATH": "pipelines/main.orchest",
        "OTHER": str(tmp_path / "unmounted"),
        "GREETING": "hello",
    }


def test_a_project_reached_through_a_symbolic_link_is_translated(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    paths = PathMap(ProjectMounts(link, None).pairs())
    assert paths.path(link / "a.py") == PurePosixPath("/project-dir/a.py")
    assert paths.path(real / "a.py") == PurePosixPath("/project-dir/a.py")
