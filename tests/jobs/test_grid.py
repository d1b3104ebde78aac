import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_orchest.jobs.grid import GridError, default_grid, parameters_file, parse_grid
from support import make_step

DEFINITION: dict[str, Any] = {
    "parameters": {"alpha": 0.1},
    "steps": {
        "train": make_step("train", "train.ipynb", [], parameters={"n": 1, "seed": 7}),
        "load": make_step("load", "load.py", []),
    },
}


def test_a_two_by_three_grid_makes_six_runs_with_every_combination() -> None:
    grid = parse_grid(
        DEFINITION, {"pipeline": {"alpha": [0.1, 0.2]}, "steps": {"train": {"n": [1, 2, 3]}}}, 100
    )

    runs = grid.runs()

    assert [index for index, _ in runs] == [0, 1, 2, 3, 4, 5]
    assert [(o["pipeline"]["alpha"], o["steps"]["train"]["n"]) for _, o in runs] == [
        (0.1, 1), (0.1, 2), (0.1, 3), (0.2, 1), (0.2, 2), (0.2, 3),
    ]  # fmt: skip


def test_excluded_combinations_do_not_run_and_keep_their_numbers() -> None:
    body = {"pipeline": {"alpha": [1, 2]}, "steps": {"train": {"n": [1, 2]}}, "excluded": [1, 2]}

    grid = parse_grid(DEFINITION, body, 100)

    assert [
        (index, o["pipeline"]["alpha"], o["steps"]["train"]["n"]) for index, o in grid.runs()
    ] == [
        (0, 1, 1),
        (3, 2, 2),
    ]
    assert grid.to_json() == body


def test_an_empty_grid_is_one_run_with_the_pipelines_own_parameters() -> None:
    assert parse_grid(DEFINITION, None, 1).runs() == [(0, {"pipeline": {}, "steps": {}})]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"pipeline": {"alpha": 0.3}}, "must be a list, e.g. [0.3]"),
        ({"pipeline": {"alpha": []}}, "has no values"),
        ({"steps": {"nope": {"n": [1]}}}, "a step the pipeline does not have: nope"),
        ({"steps": {"train": [1]}}, "of the step 'Train' must be an object"),
        ({"pipeline": {"alpha": [1, 2]}, "excluded": [0, 1]}, "Every combination is excluded"),
        ({"excluded": [3]}, "do not exist: [3]"),
        ({"excluded": ["0"]}, "list of combination numbers"),
        ({"pipeline": {"alpha": list(range(11))}}, "11 runs, more than the limit of 10"),
        ({"parameters": {}}, "must look like"),
        ([1, 2], "must look like"),
    ],
)
def test_bad_grids_are_refused_with_a_message_that_says_what_to_change(
    body: object, message: str
) -> None:
    with pytest.raises(GridError) as caught:
        parse_grid(DEFINITION, body, 10)

    assert message in str(caught.value)


def test_the_default_grid_holds_current_values_overridden_by_the_parameters_file(
    tmp_path: Path,
) -> None:
    pipeline = tmp_path / "main.orchest"
    assert parameters_file(pipeline) == tmp_path / "main.parameters.json"
    parameters_file(pipeline).write_text(
        json.dumps(
            {"pipeline_parameters": {"alpha": [0.1, 0.5]}, "train": {"n": [1, 2]}, "gone": {}}
        )
    )

    assert default_grid(DEFINITION, pipeline) == {
        "pipeline": {"alpha": [0.1, 0.5]},
        "steps": {"train": {"n": [1, 2], "seed": [7]}},
    }


def test_a_broken_parameters_file_is_named_with_where_it_breaks(tmp_path: Path) -> None:
    pipeline = tmp_path / "main.orchest"
    parameters_file(pipeline).write_text('{"pipeline_parameters": {"alpha": [1,]}}')

    with pytest.raises(GridError, match=r"main.parameters.json is not valid JSON \(line 1"):
        default_grid(DEFINITION, pipeline)
