"""Project and pipeline environment variables, and the project's uuid: kept in the project's
private folder, which is its owner's alone and which git never sees."""

import json
import re
import shutil
import stat
import subprocess
import uuid
from pathlib import Path

import pytest

from jupyter_orchest.projects import (
    MalformedVariables,
    VariablesError,
    check_variables,
    digests,
    merged,
    project_uuid,
    read_variables,
    write_variables,
)
from jupyter_orchest.projects.private import private_dir


def test_variables_are_kept_private_and_out_of_git(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    write_variables(tmp_path, project={"TOKEN": "s3cret-token", "MODE": "prod"})
    write_variables(tmp_path, pipeline=("pipeline-1", {"MODE": "dev"}))

    read = read_variables(tmp_path)
    assert read.project == {"TOKEN": "s3cret-token", "MODE": "prod"}
    assert read.for_pipeline("pipeline-1") == {"TOKEN": "s3cret-token", "MODE": "dev"}
    assert read.for_pipeline("another") == read.project
    folder = private_dir(tmp_path)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for file in folder.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    status = subprocess.run(
        ["git", "-C", str(tmp_path), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == "", "git sees nothing of the private folder"


def test_a_write_replaces_only_what_it_names(tmp_path: Path) -> None:
    write_variables(tmp_path, project={"A": "1"}, pipeline=("p", {"B": "2"}))
    write_variables(tmp_path, pipeline=("q", {"C": "3"}))
    write_variables(tmp_path, pipeline=("p", {}))  # emptied: gone from the file
    assert read_variables(tmp_path).to_json() == {
        "project": {"A": "1"},
        "pipelines": {"q": {"C": "3"}},
    }


def test_job_over_pipeline_over_project() -> None:
    assert merged({"A": "project", "B": "project"}, {"B": "pipeline"}, {"A": "job"}) == {
        "A": "job",
        "B": "pipeline",
    }


@pytest.mark.parametrize(
    ("variables", "field", "message"),
    [
        ([], "f", "must be an object"),
        ({"1X": "a"}, "f.1X", "not a valid variable name"),
        ({"MY-VAR": "a"}, "f.MY-VAR", "not a valid variable name"),
        ({"PATH": "/bin"}, "f.PATH", "the engine's"),
        ({"ORCHEST_STEP_UUID": "x"}, "f.ORCHEST_STEP_UUID", "the engine's"),
        ({"N": 3}, "f.N", "must be text"),
        ({"N": "a\0b"}, "f.N", "without NUL"),
    ],
)
def test_bad_variables_name_the_field(variables: object, field: str, message: str) -> None:
    with pytest.raises(VariablesError, match=message) as raised:
        check_variables(variables, "f")
    assert raised.value.field == field
    assert str(raised.value).startswith(f"`{field}`: ")


def test_a_malformed_file_says_which_and_what_to_do(tmp_path: Path) -> None:
    write_variables(tmp_path, project={"A": "1"})
    file = private_dir(tmp_path) / "env_variables.json"
    file.write_text('{"project": {"A": 1}}')
    with pytest.raises(MalformedVariables, match=r"env_variables\.json.*delete it"):
        read_variables(tmp_path)
    file.write_text("{not json")
    with pytest.raises(MalformedVariables, match=re.escape(str(file))):
        read_variables(tmp_path)


def test_digests_are_keyed_per_project_and_tell_changes(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    one = digests(first, {"TOKEN": "s3cret-token"})
    assert one == digests(first, {"TOKEN": "s3cret-token"})
    assert one != digests(first, {"TOKEN": "s3cret-tokeN"})
    assert one != digests(second, {"TOKEN": "s3cret-token"}), "each project has its own key"
    assert "s3cret" not in json.dumps(one)
    assert digests(first, {}) == {}


def test_a_project_keeps_its_uuid_and_a_copy_without_its_private_folder_gets_its_own(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    made = project_uuid(project)
    assert str(uuid.UUID(made)) == made
    moved = tmp_path / "moved"
    project.rename(moved)
    assert project_uuid(moved) == made
    clone = tmp_path / "clone"
    shutil.copytree(moved, clone, ignore=shutil.ignore_patterns("private"))
    assert project_uuid(clone) != made


def test_a_folder_whose_private_folder_cannot_be_made_has_a_uuid_of_its_path(
    tmp_path: Path,
) -> None:
    (tmp_path / ".orchest").write_text("a file where the folder would be")
    derived = project_uuid(tmp_path)
    assert derived == project_uuid(tmp_path) == str(uuid.UUID(derived))
    assert project_uuid(tmp_path / "elsewhere") != derived
