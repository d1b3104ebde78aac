import json
import pickle

from jupyter_orchest.pipeline import PipelineValidationError, ValidationIssue

TITLE = ValidationIssue(
    "/steps/a/title", "`/steps/a/title` must be a string, got 3.", "schema", "a"
)
CYCLE = ValidationIssue("", "The steps form a cycle: A -> B -> A.", "cycle")


def test_an_issue_serialises_to_json() -> None:
    assert json.loads(json.dumps(TITLE.to_json())) == {
        "pointer": "/steps/a/title",
        "message": "`/steps/a/title` must be a string, got 3.",
        "rule": "schema",
        "step": "a",
    }
    assert CYCLE.to_json()["step"] is None


def test_the_error_reads_as_a_list_of_problems() -> None:
    error = PipelineValidationError([TITLE, CYCLE])
    assert isinstance(error, ValueError)
    assert str(error) == (
        "The pipeline definition has 2 problems:\n"
        "  - /steps/a/title: `/steps/a/title` must be a string, got 3. [schema]\n"
        "  - The steps form a cycle: A -> B -> A. [cycle]"
    )
    assert str(PipelineValidationError([CYCLE])).startswith(
        "The pipeline definition has 1 problem:"
    )


def test_the_error_survives_pickling() -> None:
    copy = pickle.loads(pickle.dumps(PipelineValidationError([TITLE, CYCLE])))
    assert copy.issues == [TITLE, CYCLE]
