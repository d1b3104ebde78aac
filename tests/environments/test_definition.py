"""Environment definitions on disk, in Orchest's layout."""

import json
import shutil
from pathlib import Path

import pytest

from jupyter_orchest.environments.definition import (
    DEFAULT_NAME,
    EnvironmentNotFound,
    InvalidProperties,
    MalformedEnvironment,
    create_environment,
    default_environment,
    delete_environment,
    ensure_default_environment,
    environments_dir,
    read_environment,
    scan_environments,
    update_environment,
)
from jupyter_orchest.services.pipelines import PipelineService
from support import EXAMPLE_PROJECT, make_step, pipeline_writer

EXAMPLE_UUID = "3d9c6b0e-7f1a-4c55-9d3e-2b8f6a1c4e70"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLE_PROJECT, tmp_path / "quickstart")
    return tmp_path / "quickstart"


def files_of(project: Path, uuid: str) -> dict[str, bytes]:
    folder = environments_dir(project) / uuid
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_an_orchest_environment_round_trips_byte_for_byte(project: Path) -> None:
    before = files_of(project, EXAMPLE_UUID)
    environment = read_environment(project, EXAMPLE_UUID)
    assert (environment.name, environment.base_image, environment.language) == (
        "Python 3",
        "orchest/base-kernel-py",
        "python",
    )
    assert environment.gpu_support is False
    assert environment.kernel_name == f"orchest-kernel-{EXAMPLE_UUID}"
    update_environment(environment, {})
    assert files_of(project, EXAMPLE_UUID) == before


def test_unknown_keys_are_kept_when_an_environment_changes(project: Path) -> None:
    properties = environments_dir(project) / EXAMPLE_UUID / "properties.json"
    data = json.loads(properties.read_text())
    properties.write_text(
        json.dumps({**data, "zz_future": {"a": [1, 2]}}, indent=4, sort_keys=True)
    )
    environment = read_environment(project, EXAMPLE_UUID)
    update_environment(environment, {"name": "Renamed", "setup_script": "pip install six\n"})
    saved = json.loads(properties.read_text())
    assert saved == {**data, "name": "Renamed", "zz_future": {"a": [1, 2]}}
    assert properties.read_text() == json.dumps(saved, indent=4, sort_keys=True)
    assert read_environment(project, EXAMPLE_UUID).setup_script == "pip install six\n"


def test_a_project_without_environments_gets_the_default_one_once(tmp_path: Path) -> None:
    ensure_default_environment(tmp_path)
    ensure_default_environment(tmp_path)
    environments, problems = scan_environments(tmp_path)
    assert problems == [] and len(environments) == 1
    default = environments[0]
    assert (default.name, default.base_image, default.language) == (
        DEFAULT_NAME,
        "orchest/base-kernel-py",
        "python",
    )
    assert "#!/bin/bash" in default.setup_script
    # Nothing half-made is left beside it.
    assert [p.name for p in environments_dir(tmp_path).iterdir()] == [default.uuid]


def test_the_default_environment_of_a_step_is_the_first_by_name(tmp_path: Path) -> None:
    zeta = create_environment(tmp_path, name="zeta")
    alpha = create_environment(tmp_path, name="Alpha", language="r")
    assert alpha.base_image == "orchest/base-kernel-r"
    assert default_environment(tmp_path) == alpha
    delete_environment(tmp_path, alpha.uuid)
    assert default_environment(tmp_path) == zeta
    assert [p.name for p in environments_dir(tmp_path).iterdir()] == [zeta.uuid]


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("{", "is not valid JSON (Expecting property name"),
        ("[]", "must hold a JSON object"),
        ('{"uuid": "%s", "name": "x"}', "is missing base_image, language"),
        (
            '{"uuid": "%s", "name": 3, "base_image": "i", "language": "python"}',
            "wrong type for name",
        ),
        (
            '{"uuid": "other", "name": "x", "base_image": "i", "language": "python"}',
            'says its uuid is "other"',
        ),
    ],
)
def test_malformed_files_are_named_with_what_to_fix(project: Path, content: str, said: str) -> None:
    properties = environments_dir(project) / EXAMPLE_UUID / "properties.json"
    properties.write_text(content.replace("%s", EXAMPLE_UUID))
    with pytest.raises(MalformedEnvironment) as raised:
        read_environment(project, EXAMPLE_UUID)
    assert f"quickstart/.orchest/environments/{EXAMPLE_UUID}/properties.json" in str(raised.value)
    assert said in str(raised.value)
    environments, problems = scan_environments(project)
    assert environments == [] and [p.uuid for p in problems] == [EXAMPLE_UUID]


def test_missing_and_invalid_environments(project: Path) -> None:
    with pytest.raises(EnvironmentNotFound, match="has no environment"):
        read_environment(project, "nope")
    with pytest.raises(EnvironmentNotFound, match="not an environment uuid"):
        read_environment(project, "../etc")
    environment = read_environment(project, EXAMPLE_UUID)
    with pytest.raises(InvalidProperties, match="language"):
        update_environment(environment, {"language": "cobol"})
    with pytest.raises(InvalidProperties, match="cannot be changed: uuid"):
        update_environment(environment, {"uuid": "x"})
    with pytest.raises(InvalidProperties, match="name"):
        create_environment(project, name="  ")


def test_a_step_naming_a_missing_environment_fails_validation(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".orchest").mkdir(parents=True)
    known = create_environment(project, name="Known")
    pipeline_writer(project)(
        [
            make_step("a", "a.py", [], environment=known.uuid),
            make_step("b", "b.py", [], environment="gone-1234"),
            make_step("c", "c.py", []),
        ],
        {"a.py": "", "b.py": "", "c.py": ""},
    )
    pipeline = PipelineService(tmp_path).read("project/test.orchest")
    assert [(i.rule, i.step, i.pointer) for i in pipeline.issues] == [
        ("unknown-environment", "b", "/steps/b/environment")
    ]
    message = pipeline.issues[0].message
    assert 'Step "B" uses the environment "gone-1234"' in message
    assert "leave it empty to use the default one" in message
