"""Who the step is: the engine's variables, code run outside a step, and crafted uuids."""

import os
from pathlib import Path
from typing import Any

import pytest

from jupyter_orchest.sdk import environment, interactive_outputs_dir, step_environment
from jupyter_orchest.sdk.environment import (
    clear_step_outputs,
    current_step,
    write_parameters_file,
)
from jupyter_orchest.sdk.errors import StepUUIDResolveError
from jupyter_orchest.sdk.outputs import write_output

Project = Any  # conftest.Project


def test_step_environment_names_every_variable(tmp_path: Path) -> None:
    env = step_environment(
        tmp_path, "p.orchest", "pipe", "step", "run", tmp_path / "out", tmp_path / "data"
    )
    assert env == {
        "ORCHEST_PROJECT_DIR": str(tmp_path),
        "ORCHEST_PIPELINE_PATH": "p.orchest",
        "ORCHEST_PIPELINE_UUID": "pipe",
        "ORCHEST_STEP_UUID": "step",
        "ORCHEST_RUN_UUID": "run",
        "ORCHEST_OUTPUTS_DIR": str(tmp_path / "out"),
        "ORCHEST_DATA_DIR": str(tmp_path / "data"),
    }
    with_file = step_environment(
        tmp_path, "p.orchest", "pipe", "step", "run", tmp_path, tmp_path, tmp_path / "p.json"
    )
    assert with_file[environment.PARAMETERS_FILE] == str(tmp_path / "p.json")
    step = current_step(with_file)
    assert step.pipeline_file == str(tmp_path / "p.orchest")
    assert step.step_outputs_dir("other") == str(tmp_path / "other")


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("project_dir", "relative"),
        ("outputs_dir", "relative"),
        ("data_dir", "relative"),
        ("pipeline_path", "/abs/p.orchest"),
        ("step_uuid", "../escape"),
        ("step_uuid", ""),
        ("pipeline_uuid", "a/b"),
        ("run_id", ""),
    ],
)
def test_step_environment_refuses_what_a_step_could_not_use(argument: str, value: str) -> None:
    arguments = {
        "project_dir": "/p",
        "pipeline_path": "p.orchest",
        "pipeline_uuid": "pipe",
        "step_uuid": "step",
        "run_id": "run",
        "outputs_dir": "/p/out",
        "data_dir": "/data",
    }
    with pytest.raises(ValueError):
        step_environment(**(arguments | {argument: value}))


def test_interactive_outputs_follow_orchests_layout() -> None:
    assert interactive_outputs_dir("/p", "abc") == os.path.join(
        "/p", ".orchest", "pipelines", "abc", "data"
    )
    with pytest.raises(ValueError):
        interactive_outputs_dir("/p", "..")


@pytest.mark.parametrize("uuid", ["..", ".", "a/b", "/etc", "a\\b", "a b", "", "é", 3, None])
def test_unsafe_uuids_are_refused(uuid: object) -> None:
    with pytest.raises(StepUUIDResolveError):
        environment.check_uuid(uuid)


def test_orchest_uuids_are_accepted() -> None:
    uuid = "1f3b2a9e-6c1d-4b7f-9a0e-2d4c6e8f0a1b"
    assert environment.check_uuid(uuid) == uuid
    assert environment.check_uuid("step_1") == "step_1"


def test_code_outside_a_step_is_told_so(project: Project) -> None:
    env = {k: v for k, v in project.env("step-a").items() if not k.startswith("ORCHEST_")}
    for call in ("get_inputs()", "output(1, 'x')", "get_step_param('a')", "utils.get_step_uuid()"):
        error = project.fail("step-a", f"import orchest; orchest.{call}", env=env)
        assert error.startswith("jupyter_orchest.sdk.errors.StepUUIDResolveError")
        assert "not running as a pipeline step" in error
        assert "ORCHEST_STEP_UUID" in error


def test_a_partial_environment_names_what_is_missing(project: Project) -> None:
    env = project.env("step-a")
    del env["ORCHEST_OUTPUTS_DIR"]
    error = project.fail("step-a", "import orchest; orchest.output(1, 'x')", env=env)
    assert "ORCHEST_OUTPUTS_DIR" in error and "ORCHEST_STEP_UUID" not in error


def test_the_step_knows_who_it_is(project: Project) -> None:
    code = """
        import orchest
        from jupyter_orchest.sdk import get_pipeline_uuid, get_run_uuid
        print(orchest.utils.get_step_uuid(), get_pipeline_uuid(), get_run_uuid())
    """
    stdout = project.run("step-a", code).stdout.split()
    assert stdout == ["step-a", "0b1c2d3e-0000-4000-8000-000000000001", "run-1"]


def test_a_crafted_step_uuid_cannot_write_outside_the_outputs(project: Project) -> None:
    env = project.env("step-a") | {"ORCHEST_STEP_UUID": "../../../../escaped"}
    error = project.fail("step-a", "import orchest; orchest.output(1, 'x')", env=env)
    assert error.startswith("jupyter_orchest.sdk.errors.StepUUIDResolveError")
    assert "'../../../../escaped' is not a valid step uuid" in error
    assert not (project.root / "escaped").exists()
    assert not any(project.outputs.iterdir())


def test_a_crafted_parent_uuid_cannot_read_outside_the_outputs(project: Project) -> None:
    # A real step's outputs, planted outside the outputs folder where "../" would reach them.
    project.write_pipeline(project.step("planted", "Planted"))
    project.run("planted", "import orchest; orchest.output('secret', 'x')")
    planted = project.outputs / "planted"
    planted.rename(project.root / "planted")
    escape = os.path.relpath(project.root / "planted", project.outputs)
    assert (project.outputs / escape / "manifest.json").exists()

    project.write_pipeline(
        project.step(escape, "Crafted"), project.step("step-c", "Child", [escape])
    )
    error = project.fail("step-c", "import orchest; print(orchest.get_inputs())")
    assert error.startswith("jupyter_orchest.sdk.errors.StepUUIDResolveError")
    assert "not a valid parent step uuid" in error


def test_clear_step_outputs_leaves_an_empty_folder(tmp_path: Path) -> None:
    write_output(str(tmp_path / "s"), "s", "run", 1, "x")
    write_output(str(tmp_path / "other"), "other", "run", 1, "x")
    (tmp_path / ".s.0123.deleting").mkdir()  # left by an interrupted earlier call
    folder = clear_step_outputs(tmp_path, "s")
    assert Path(folder) == tmp_path / "s"
    assert list(Path(folder).iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other", "s"]
    assert clear_step_outputs(tmp_path / "fresh", "new") == str(tmp_path / "fresh" / "new")
    with pytest.raises(ValueError):
        clear_step_outputs(tmp_path, "..")


def test_write_parameters_file_refuses_what_json_cannot_hold(tmp_path: Path) -> None:
    path = tmp_path / "parameters.json"
    with pytest.raises(ValueError):
        write_parameters_file(path, {"x": float("nan")}, {})
    with pytest.raises(ValueError):
        write_parameters_file(path, {}, {"../s": {}})
    assert list(tmp_path.iterdir()) == []
