"""Parameters read by a real step process, from the pipeline file or the run's parameters file."""

import json
from pathlib import Path
from typing import Any

from jupyter_orchest.sdk import write_parameters_file

Project = Any  # conftest.Project

READ_PARAMETERS = """
    import json
    import orchest
    from orchest.parameters import get_params

    print(json.dumps({
        "low": orchest.get_step_param("low"),
        "missing": orchest.get_step_param("missing", "fallback"),
        "alpha": orchest.get_pipeline_param("alpha"),
        "none": orchest.get_pipeline_param("none"),
        "both": get_params(),
    }))
"""


def _pipeline(project: Project) -> None:
    project.write_pipeline(
        project.step("step-a", "Clean", low=2, high=[1, 2]),
        project.step("step-b", "Plain"),
        alpha=0.5,
    )


def test_parameters_come_from_the_pipeline_file(project: Project) -> None:
    _pipeline(project)
    assert project.run_json("step-a", READ_PARAMETERS) == {
        "low": 2,
        "missing": "fallback",
        "alpha": 0.5,
        "none": None,
        "both": [{"low": 2, "high": [1, 2]}, {"alpha": 0.5}],
    }


def test_the_runs_parameters_file_overrides_the_pipeline_file(
    project: Project, tmp_path: Path
) -> None:
    _pipeline(project)
    parameters_file = tmp_path / "run-parameters.json"
    write_parameters_file(parameters_file, {"alpha": 0.9}, {"step-a": {"low": 5}})
    assert json.loads(parameters_file.read_text()) == {
        "pipeline": {"alpha": 0.9},
        "steps": {"step-a": {"low": 5}},
    }
    result = project.run_json("step-a", READ_PARAMETERS, parameters_file=parameters_file)
    assert result["both"] == [{"low": 5}, {"alpha": 0.9}]
    assert result["low"] == 5 and result["alpha"] == 0.9
    # A step the engine left out of the file has no parameters.
    result = project.run_json("step-b", READ_PARAMETERS, parameters_file=parameters_file)
    assert result["both"] == [{}, {"alpha": 0.9}]


def test_a_step_missing_from_the_pipeline_file_is_reported(project: Project) -> None:
    _pipeline(project)
    error = project.fail("other", "import orchest; orchest.get_step_param('low')")
    assert error.startswith("jupyter_orchest.sdk.errors.StepUUIDResolveError")
    assert "Parameters could not be identified" in error and "'other'" in error


def test_a_missing_pipeline_file_is_reported(project: Project) -> None:
    error = project.fail("step-a", "import orchest; orchest.get_pipeline_param('alpha')")
    assert error.startswith("jupyter_orchest.sdk.errors.PipelineDefinitionNotFoundError")
    assert "main.orchest" in error


def test_parameters_that_are_not_an_object_are_reported(project: Project) -> None:
    project.write_pipeline(project.step("step-a", "Clean"), alpha=1)
    path = project.root / "flows" / "main.orchest"
    doc = json.loads(path.read_text())
    doc["steps"]["step-a"]["parameters"] = [1, 2]
    path.write_text(json.dumps(doc))
    error = project.fail("step-a", "import orchest; orchest.get_step_param('low')")
    assert error.startswith("jupyter_orchest.sdk.errors.InvalidPipelineDefinitionError")


def test_a_pipeline_file_with_a_byte_order_mark_is_read(project: Project) -> None:
    _pipeline(project)
    path = project.root / "flows" / "main.orchest"
    path.write_text("\ufeff" + path.read_text(), encoding="utf-8")
    assert project.run_json("step-a", READ_PARAMETERS)["low"] == 2
