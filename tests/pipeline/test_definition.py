import json
import uuid
from pathlib import Path

import pytest

from jupyter_orchest.pipeline import (
    PipelineValidationError,
    dump_definition,
    ensure_valid,
    new_definition,
    parse_definition,
    validate_definition,
)


def only_issue(text: str) -> tuple[str, str, str]:
    with pytest.raises(PipelineValidationError) as caught:
        parse_definition(text)
    [issue] = caught.value.issues
    return issue.rule, issue.pointer, issue.message


def test_an_orchest_written_file_round_trips_byte_for_byte(
    orchest_text: str, tmp_path: Path
) -> None:
    stored = tmp_path / "housing.orchest"
    stored.write_bytes(orchest_text.encode("utf-8"))

    doc = parse_definition(stored.read_text(encoding="utf-8"))
    assert validate_definition(doc) == []
    (tmp_path / "saved.orchest").write_text(dump_definition(doc), encoding="utf-8")

    assert (tmp_path / "saved.orchest").read_bytes() == stored.read_bytes()


def test_keys_unknown_to_the_format_survive_a_round_trip(orchest_text: str) -> None:
    doc = parse_definition(orchest_text)
    step = doc["steps"]["c9484b08-9d23-4f1a-96da-c41711d77c09"]
    assert doc["description"].startswith("Predict")
    assert step["color"] == "#ff8800"
    assert doc["steps"]["106bb318-252d-4f94-ba86-c36722dddf41"]["meta_data"]["collapsed"] is True
    assert parse_definition(dump_definition(doc)) == doc


def test_dump_writes_like_orchest() -> None:
    text = dump_definition({"b": [1, {"é": "—"}], "a": {}})
    assert text == (
        "{\n"
        '    "a": {},\n'
        '    "b": [\n'
        "        1,\n"
        "        {\n"
        '            "\\u00e9": "\\u2014"\n'
        "        }\n"
        "    ]\n"
        "}"
    )


def test_dump_refuses_to_write_what_is_not_json() -> None:
    with pytest.raises(ValueError):
        dump_definition({"x": float("nan")})


def test_invalid_json_is_reported_with_line_and_column() -> None:
    rule, pointer, message = only_issue('{\n    "name": "x",\n    "steps": {,}\n}')
    assert (rule, pointer) == ("invalid-json", "")
    assert "not valid JSON" in message
    assert "line 3, column 15" in message


@pytest.mark.parametrize("text", ["", "  \n\t"])
def test_an_empty_file_is_reported_as_empty(text: str) -> None:
    rule, pointer, message = only_issue(text)
    assert (rule, pointer) == ("invalid-json", "")
    assert "empty" in message


def test_a_repeated_top_level_key_is_pointed_at() -> None:
    rule, pointer, message = only_issue('{"name": "a", "steps": {}, "name": "b"}')
    assert (rule, pointer) == ("duplicate-key", "/name")
    assert '"name" appears more than once at the top level' in message


def test_a_repeated_key_inside_a_step_names_the_step() -> None:
    text = '{"steps": {"s1": {"title": "Load", "file_path": "a.py", "file_path": "b.py"}}}'
    with pytest.raises(PipelineValidationError) as caught:
        parse_definition(text)
    [issue] = caught.value.issues
    assert (issue.rule, issue.pointer, issue.step) == ("duplicate-key", "/steps/s1/file_path", "s1")
    assert 'step "Load"' in issue.message
    assert '"file_path" appears more than once in `/steps/s1`' in issue.message


def test_repeated_keys_are_all_reported_in_pointer_order() -> None:
    text = '{"z": [{"a/b": 1, "a/b": 2}], "steps": {"x": 1, "x": 2}, "a": 1, "a": 2}'
    with pytest.raises(PipelineValidationError) as caught:
        parse_definition(text)
    pointers = [issue.pointer for issue in caught.value.issues]
    assert pointers == ["/a", "/steps/x", "/z/0/a~1b"]
    assert caught.value.issues[1].step == "x"


@pytest.mark.parametrize(
    ("text", "kind"),
    [("[1, 2]", "a list"), ('"pipeline"', '"pipeline"'), ("3", "3"), ("null", "null")],
)
def test_the_top_level_must_be_an_object(text: str, kind: str) -> None:
    rule, pointer, message = only_issue(text)
    assert (rule, pointer) == ("schema", "")
    assert "must be a JSON object" in message
    assert message.endswith(f"holds {kind}.")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_numbers_are_refused(constant: str) -> None:
    rule, _, message = only_issue(f'{{"parameters": {{"x": {constant}}}}}')
    assert rule == "invalid-json"
    assert constant in message and "not valid JSON" in message


def test_absurdly_deep_nesting_is_a_validation_error() -> None:
    rule, _, message = only_issue("[" * 100_000 + "]" * 100_000)
    assert rule == "invalid-json"
    assert "too deeply" in message


def test_a_number_too_long_to_read_is_a_validation_error() -> None:
    rule, _, message = only_issue('{"x": ' + "9" * 10_000 + "}")
    assert rule == "invalid-json"
    assert "too many digits" in message


def test_a_byte_order_mark_is_ignored() -> None:
    assert parse_definition('\ufeff{"name": "x"}') == {"name": "x"}


def test_parse_does_not_check_structure() -> None:
    assert parse_definition('{"steps": 3}') == {"steps": 3}


def test_new_definition_is_a_valid_empty_pipeline() -> None:
    doc = new_definition("My pipeline")
    ensure_valid(doc)
    assert doc["name"] == "My pipeline"
    assert uuid.UUID(doc["uuid"]).version == 4
    assert doc["version"] == "1.0.0"
    assert doc["settings"] == {"auto_eviction": False, "data_passing_memory_size": "1GB"}
    assert doc["parameters"] == doc["services"] == doc["steps"] == {}
    assert json.loads(dump_definition(doc)) == doc


def test_new_definition_gets_a_fresh_uuid_each_time_unless_given_one() -> None:
    assert new_definition("a")["uuid"] != new_definition("a")["uuid"]
    assert new_definition("a", uuid="fixed-uuid")["uuid"] == "fixed-uuid"
