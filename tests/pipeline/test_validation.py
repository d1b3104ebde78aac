import json
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from jupyter_orchest.pipeline import (
    PipelineValidationError,
    ValidationIssue,
    ensure_valid,
    parse_definition,
    pipeline_schema,
    validate_definition,
)

Factory = Callable[..., dict[str, Any]]


def issues_of(doc: object, rule: str, pipeline_dir: str = "") -> list[ValidationIssue]:
    return [i for i in validate_definition(doc, pipeline_dir=pipeline_dir) if i.rule == rule]


def only(doc: object, rule: str, pipeline_dir: str = "") -> ValidationIssue:
    found = issues_of(doc, rule, pipeline_dir)
    assert len(found) == 1, found
    return found[0]


def test_the_shipped_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = pipeline_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_an_orchest_written_file_is_valid(orchest_text: str) -> None:
    assert validate_definition(parse_definition(orchest_text)) == []


def test_optional_parts_may_be_missing(make_pipeline: Factory) -> None:
    doc = make_pipeline()
    for key in ("settings", "parameters", "services"):
        del doc[key]
    doc["steps"] = {
        "s": {"uuid": "s", "title": "Load", "file_path": "", "incoming_connections": []}
    }
    assert validate_definition(doc) == []


def test_a_step_without_a_file_yet_is_accepted(make_pipeline: Factory, make_step: Factory) -> None:
    assert validate_definition(make_pipeline(make_step("s", "Load", file_path=""))) == []


def test_unknown_keys_are_accepted_everywhere(make_pipeline: Factory, make_step: Factory) -> None:
    step = make_step("s", "Load", extra_step_key=[1])
    step["kernel"]["extra"] = {}
    step["meta_data"]["extra"] = None
    doc = make_pipeline(step, extra_top_key="kept")
    doc["settings"]["extra"] = 1
    doc["services"]["web"] = {"name": "web", "image": "nginx", "extra": True}
    assert validate_definition(doc) == []


def test_a_wrongly_typed_value_is_explained_with_its_pointer(
    make_pipeline: Factory, make_step: Factory
) -> None:
    step = make_step("a1", "Load")
    step["title"] = 3
    issue = only(make_pipeline(step), "schema")
    assert issue.pointer == "/steps/a1/title"
    assert issue.step == "a1"
    assert issue.message == "`/steps/a1/title` must be a string, got 3."


def test_schema_messages_name_the_step_by_its_title(
    make_pipeline: Factory, make_step: Factory
) -> None:
    issue = only(make_pipeline(make_step("a1", "Load", incoming_connections="a0")), "schema")
    assert issue.pointer == "/steps/a1/incoming_connections"
    assert (
        issue.message == '`/steps/a1/incoming_connections` (step "Load") must be a list, got "a0".'
    )


def test_every_schema_problem_is_reported_sorted_by_pointer(
    make_pipeline: Factory, make_step: Factory
) -> None:
    step = make_step("s", "Load", parameters=[], kernel={"name": 1})
    step["meta_data"] = {"hidden": "no", "position": [1, "2", 3]}
    doc = make_pipeline(step, name=None)
    doc["settings"] = {"auto_eviction": 0, "data_passing_memory_size": "1TB"}
    doc["settings"]["max_steps_parallelism"] = -1
    doc["services"] = {"db": {"ports": ["80"], "scope": ["sometimes"], "binds": {"/a": 1}}}
    found = {(i.pointer, i.message) for i in issues_of(doc, "schema")}
    expected = {
        ("/name", "`/name` must be a string, got null."),
        ("/services/db/binds/~1a", "`/services/db/binds/~1a` must be a string, got 1."),
        ("/services/db/ports/0", '`/services/db/ports/0` must be a whole number, got "80".'),
        (
            "/services/db/scope/0",
            '`/services/db/scope/0` must be one of "interactive", "noninteractive", '
            'got "sometimes".',
        ),
        ("/settings/auto_eviction", "`/settings/auto_eviction` must be true or false, got 0."),
        (
            "/settings/data_passing_memory_size",
            '`/settings/data_passing_memory_size` must be a size such as "1GB", "500MB" or '
            '"0.5GB" (units KB, MB or GB); got "1TB".',
        ),
        (
            "/settings/max_steps_parallelism",
            "`/settings/max_steps_parallelism` must be at least 0, got -1.",
        ),
        ("/steps/s/kernel/name", '`/steps/s/kernel/name` (step "Load") must be a string, got 1.'),
        (
            "/steps/s/meta_data/hidden",
            '`/steps/s/meta_data/hidden` (step "Load") must be true or false, got "no".',
        ),
        (
            "/steps/s/meta_data/position",
            '`/steps/s/meta_data/position` (step "Load") must be a list of two numbers, '
            "[x, y]; got a list of 3.",
        ),
        (
            "/steps/s/meta_data/position/1",
            '`/steps/s/meta_data/position/1` (step "Load") must be a number, got "2".',
        ),
        (
            "/steps/s/parameters",
            '`/steps/s/parameters` (step "Load") must be an object, got a list.',
        ),
    }
    assert found == expected
    pointers = [i.pointer for i in validate_definition(doc)]
    assert pointers == sorted(pointers)


def test_missing_required_keys_are_each_pointed_at(make_pipeline: Factory) -> None:
    doc = make_pipeline()
    del doc["name"]
    doc["steps"] = {"s": {"uuid": "s", "title": "Load"}}
    found = {(i.pointer, i.step): i.message for i in issues_of(doc, "schema")}
    assert found == {
        ("/name", None): 'The pipeline definition is missing the required key "name".',
        ("/steps/s/file_path", "s"): (
            '`/steps/s` (step "Load") is missing the required key "file_path" '
            '(use "" if the step has no file yet).'
        ),
        ("/steps/s/incoming_connections", "s"): (
            '`/steps/s` (step "Load") is missing the required key "incoming_connections" '
            "(use [] for a step without incoming connections)."
        ),
    }


def test_a_non_object_document_is_reported() -> None:
    [issue] = validate_definition(["not", "a", "pipeline"])
    assert (issue.pointer, issue.rule) == ("", "schema")
    assert issue.message == "The pipeline definition must be an object, got a list."


@pytest.mark.parametrize("uuid", ["../evil", "a/b", "", "with space", "line\n", "ünï"], ids=repr)
def test_uuids_must_be_safe_folder_names(
    uuid: str, make_pipeline: Factory, make_step: Factory
) -> None:
    doc = make_pipeline(make_step("s", "Load"), uuid=uuid)
    issue = only(doc, "schema")
    assert issue.pointer == "/uuid"
    assert "letters, digits, '-' and '_' only, because it names a folder on disk" in issue.message


def test_a_step_environment_may_be_empty_but_not_a_path(
    make_pipeline: Factory, make_step: Factory
) -> None:
    assert validate_definition(make_pipeline(make_step("s", "Load", environment=""))) == []
    issue = only(make_pipeline(make_step("s", "Load", environment="../x")), "schema")
    assert issue.pointer == "/steps/s/environment"


def test_values_json_cannot_hold_are_reported(make_pipeline: Factory) -> None:
    loop: list[object] = []
    loop.append(loop)
    doc = make_pipeline(parameters={"a": {1, 2}, "b": float("nan"), "c": (1, 2), "d": loop, 5: "x"})
    found = {(i.pointer, i.rule): i.message for i in validate_definition(doc)}
    assert found == {
        ("/parameters", "schema"): "`/parameters` has the key 5; JSON keys must be strings.",
        ("/parameters/a", "schema"): (
            "`/parameters/a` must be a JSON value (a string, number, true or false, null, "
            "list or object), got a Python set."
        ),
        ("/parameters/b", "schema"): "`/parameters/b` must be a finite number, got nan.",
        ("/parameters/c", "schema"): (
            "`/parameters/c` must be a JSON value (a string, number, true or false, null, "
            "list or object), got a Python tuple."
        ),
        ("/parameters/d/0", "schema"): (
            "`/parameters/d/0` contains itself, which JSON cannot represent."
        ),
    }


def test_shared_values_are_not_mistaken_for_loops(make_pipeline: Factory) -> None:
    shared = {"name": "python", "display_name": "Python 3"}
    doc = make_pipeline(parameters={"a": shared, "b": [shared, shared]})
    assert validate_definition(doc) == []


def test_nesting_deeper_than_json_tools_handle_is_reported(make_pipeline: Factory) -> None:
    deep: Any = "bottom"
    for _ in range(10_000):
        deep = [deep]
    [issue] = validate_definition(make_pipeline(parameters={"deep": deep}))
    assert issue.rule == "schema"
    assert issue.pointer.startswith("/parameters/deep/0/0")
    assert "levels deep" in issue.message


def test_a_step_stored_under_another_uuid_is_reported(
    make_pipeline: Factory, make_step: Factory
) -> None:
    doc = make_pipeline(make_step("a", "Load"))
    doc["steps"] = {"key": doc["steps"]["a"]}
    issue = only(doc, "uuid-mismatch")
    assert (issue.pointer, issue.step) == ("/steps/key/uuid", "key")
    assert issue.message == (
        'Step "Load" is stored under the key "key" but its uuid is "a"; the two must be equal, '
        'so set its uuid to "key".'
    )


def test_a_connection_from_an_unknown_step_is_reported(
    make_pipeline: Factory, make_step: Factory
) -> None:
    doc = make_pipeline(make_step("a", "Load"), make_step("b", "Clean", ["a", "ghost"]))
    issue = only(doc, "unknown-connection")
    assert (issue.pointer, issue.step) == ("/steps/b/incoming_connections/1", "b")
    assert 'Step "Clean" has an incoming connection from "ghost"' in issue.message
    assert "no step with that uuid" in issue.message


def test_a_step_connected_to_itself_is_reported_once(
    make_pipeline: Factory, make_step: Factory
) -> None:
    doc = make_pipeline(make_step("a", "Load", ["a"]))
    [issue] = validate_definition(doc)
    assert (issue.rule, issue.pointer, issue.step) == (
        "self-connection",
        "/steps/a/incoming_connections/0",
        "a",
    )
    assert 'Step "Load" is connected to itself' in issue.message


def test_a_parent_listed_twice_is_reported(make_pipeline: Factory, make_step: Factory) -> None:
    doc = make_pipeline(make_step("a", "Load"), make_step("b", "Clean", ["a", "a", "a"]))
    found = issues_of(doc, "duplicate-connection")
    assert [i.pointer for i in found] == [
        "/steps/b/incoming_connections/1",
        "/steps/b/incoming_connections/2",
    ]
    assert 'Step "Clean" lists its connection from step "Load" more than once' in found[0].message


def test_a_cycle_is_reported_with_the_steps_in_order(
    make_pipeline: Factory, make_step: Factory
) -> None:
    doc = make_pipeline(
        make_step("a", "Load", ["c"]),
        make_step("b", "Clean", ["a"]),
        make_step("c", "Train", ["b"]),
        make_step("d", "Report", ["c"]),
    )
    issue = only(doc, "cycle")
    assert (issue.pointer, issue.step) == ("/steps/a/incoming_connections", "a")
    assert "steps form a cycle: Load -> Clean -> Train -> Load" in issue.message
    assert 'the one from step "Train" to step "Load"' in issue.message


def test_a_two_step_cycle_is_reported(make_pipeline: Factory, make_step: Factory) -> None:
    doc = make_pipeline(make_step("a", "Load", ["b"]), make_step("b", "Clean", ["a"]))
    issue = only(doc, "cycle")
    assert "steps form a cycle: Load -> Clean -> Load" in issue.message


def test_separate_cycles_are_each_reported(make_pipeline: Factory, make_step: Factory) -> None:
    doc = make_pipeline(
        make_step("a", "A", ["b"]),
        make_step("b", "B", ["a"]),
        make_step("c", "C", ["d"]),
        make_step("d", "D", ["c"]),
    )
    messages = [i.message for i in issues_of(doc, "cycle")]
    assert len(messages) == 2
    assert "A -> B -> A" in messages[0] and "C -> D -> C" in messages[1]


@pytest.mark.parametrize("path", ["/home/me/load.ipynb", "C:\\work\\load.ipynb", "\\\\srv\\x.py"])
def test_absolute_file_paths_are_reported(
    path: str, make_pipeline: Factory, make_step: Factory
) -> None:
    issue = only(make_pipeline(make_step("a", "Load", file_path=path)), "file-path-absolute")
    assert (issue.pointer, issue.step) == ("/steps/a/file_path", "a")
    assert f'Step "Load" uses the absolute file path {json.dumps(path)}' in issue.message
    assert "relative to the folder of the pipeline file" in issue.message


@pytest.mark.parametrize(
    ("path", "pipeline_dir"),
    [
        ("../load.ipynb", ""),
        ("sub/../../load.ipynb", ""),
        ("../../load.ipynb", "pipelines"),
        ("..\\load.ipynb", ""),
        ("../project/load.ipynb", ""),
        ("./../load.ipynb", "a/.."),
    ],
)
def test_file_paths_leaving_the_project_are_reported(
    path: str, pipeline_dir: str, make_pipeline: Factory, make_step: Factory
) -> None:
    doc = make_pipeline(make_step("a", "Load", file_path=path))
    issue = only(doc, "file-path-escapes-project", pipeline_dir)
    assert (issue.pointer, issue.step) == ("/steps/a/file_path", "a")
    assert "outside the project folder" in issue.message
    assert 'Step "Load"' in issue.message


@pytest.mark.parametrize(
    ("path", "pipeline_dir"),
    [
        ("load.ipynb", ""),
        ("sub/../load.ipynb", ""),
        ("../load.ipynb", "pipelines"),
        ("../../load.ipynb", "a/b"),
        ("./data/./load.ipynb", ""),
    ],
)
def test_file_paths_inside_the_project_are_accepted(
    path: str, pipeline_dir: str, make_pipeline: Factory, make_step: Factory
) -> None:
    doc = make_pipeline(make_step("a", "Load", file_path=path))
    assert validate_definition(doc, pipeline_dir=pipeline_dir) == []


@pytest.mark.parametrize(
    "path", ["data.csv", "load.PY", "notebook", "scripts/", ".py", "x.ipynb.bak"]
)
def test_files_a_step_cannot_run_are_reported(
    path: str, make_pipeline: Factory, make_step: Factory
) -> None:
    issue = only(make_pipeline(make_step("a", "Load", file_path=path)), "unsupported-extension")
    assert (issue.pointer, issue.step) == ("/steps/a/file_path", "a")
    assert f'Step "Load" uses "{path}"' in issue.message
    assert ".ipynb, .py, .sh, .R (or .r), .jl or .js" in issue.message


@pytest.mark.parametrize("path", ["a.ipynb", "a.py", "a.sh", "a.R", "a.r", "a.jl", "a.js"])
def test_every_supported_kind_of_file_is_accepted(
    path: str, make_pipeline: Factory, make_step: Factory
) -> None:
    assert validate_definition(make_pipeline(make_step("a", "Load", file_path=path))) == []


@pytest.mark.parametrize("version", ["1.0.0", "1.1.0", "1.2", "1"])
def test_format_versions_1_x_are_accepted(version: str, make_pipeline: Factory) -> None:
    assert validate_definition(make_pipeline(version=version)) == []


def test_a_newer_major_version_asks_for_an_update(make_pipeline: Factory) -> None:
    issue = only(make_pipeline(version="2.0.0"), "unsupported-version")
    assert issue.pointer == "/version"
    assert 'format version "2.0.0", which is newer' in issue.message
    assert "update jupyter-orchest" in issue.message


def test_an_absurdly_large_major_version_is_still_newer(make_pipeline: Factory) -> None:
    issue = only(make_pipeline(version="9" * 5000 + ".0"), "unsupported-version")
    assert "newer" in issue.message


@pytest.mark.parametrize("version", ["0.9.0", "one", "", "1.0.0-beta", "\u0661.0.0"])
def test_an_unreadable_version_is_reported(version: str, make_pipeline: Factory) -> None:
    issue = only(make_pipeline(version=version), "unsupported-version")
    assert issue.pointer == "/version"
    assert '"1.0.0"' in issue.message


def test_semantic_checks_skip_wrongly_typed_parts(make_pipeline: Factory) -> None:
    doc = make_pipeline()
    doc["steps"] = {
        "a": "not a step",
        "b": {"uuid": 5, "title": None, "file_path": 7, "incoming_connections": "a"},
        "c": {"uuid": "c", "title": "T", "file_path": "t.py", "incoming_connections": [1, "b"]},
    }
    rules = {i.rule for i in validate_definition(doc)}
    assert rules == {"schema"}


def test_ensure_valid_raises_with_every_issue(make_pipeline: Factory, make_step: Factory) -> None:
    doc = make_pipeline(make_step("a", "Load", ["a"], file_path="/x.csv"), version="3")
    with pytest.raises(PipelineValidationError) as caught:
        ensure_valid(doc)
    assert caught.value.issues == validate_definition(doc)
    assert {i.rule for i in caught.value.issues} == {
        "self-connection",
        "file-path-absolute",
        "unsupported-extension",
        "unsupported-version",
    }
    ensure_valid(make_pipeline(make_step("a", "Load")))


def test_a_step_may_opt_out_of_caching_with_a_boolean(
    make_pipeline: Factory, make_step: Factory
) -> None:
    assert validate_definition(make_pipeline(make_step("a1", "Load", cache=False))) == []
    issue = only(make_pipeline(make_step("a1", "Load", cache="no")), "schema")
    assert issue.pointer == "/steps/a1/cache"
    assert "must be true or false" in issue.message


def test_a_step_may_declare_output_files(make_pipeline: Factory, make_step: Factory) -> None:
    patterns = ["result.json", "figures/*.png", "/data/models/", "!/data/scratch/**"]
    step = make_step("a1", "Train", output_files=patterns)
    assert validate_definition(make_pipeline(step)) == []


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("/etc/passwd", "is absolute"),
        ("../outside.txt", "uses '..'"),
        ("/data/../x", "uses '..'"),
        ("!", "is empty"),
    ],
)
def test_output_files_outside_the_folders_are_reported(
    pattern: str, problem: str, make_pipeline: Factory, make_step: Factory
) -> None:
    doc = make_pipeline(make_step("a1", "Train", output_files=["ok.txt", pattern]))
    issue = only(doc, "output-files-pattern")
    assert (issue.pointer, issue.step) == ("/steps/a1/output_files/1", "a1")
    assert f'Step "Train" declares the output files {json.dumps(pattern)}' in issue.message
    assert problem in issue.message
    wrong_type = only(make_pipeline(make_step("a1", "Train", output_files="x")), "schema")
    assert "must be a list" in wrong_type.message
