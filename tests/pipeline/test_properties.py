"""Whatever they are given, the pipeline model's entry points fail only with validation errors."""

import json
from pathlib import Path
from typing import Any, get_args

from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_orchest.pipeline import (
    PipelineGraph,
    PipelineValidationError,
    Rule,
    ValidationIssue,
    dump_definition,
    ensure_valid,
    parse_definition,
    pipeline_schema,
    validate_definition,
)

FIXTURE = (Path(__file__).parent / "fixtures" / "housing.orchest").read_text(encoding="utf-8")
RULES = set(get_args(Rule))


def _property_names(schema: object) -> set[str]:
    names: set[str] = set()
    pending = [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            names.update(node.get("properties", {}))
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return names


# Keys of the format (and step-like uuids), so generated objects often look enough like
# pipelines to get past the first checks and exercise the later ones.
FORMAT_KEYS = st.sampled_from([*sorted(_property_names(pipeline_schema())), "s1", "s2"])

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | FORMAT_KEYS
)
finite_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(FORMAT_KEYS | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=30,
)
finite_json_objects = st.dictionaries(
    st.text(max_size=6),
    st.recursive(
        finite_scalars,
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
        ),
        max_leaves=20,
    ),
    max_size=5,
)
python_values = st.recursive(
    scalars | st.sets(st.integers(), max_size=2) | st.sampled_from([b"x", (1,), object()]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner)
        | st.dictionaries(FORMAT_KEYS | st.integers() | st.none(), inner, max_size=5)
    ),
    max_leaves=30,
)
json_like_text = st.text(alphabet='{}[]",:0123456789.eE+- \n\\truefalsnNIiy', max_size=60)

CHECKS = settings(max_examples=300, deadline=None)


def assert_well_formed(issues: list[ValidationIssue]) -> None:
    for issue in issues:
        assert issue.pointer == "" or issue.pointer.startswith("/")
        assert issue.rule in RULES
        assert issue.message
        json.dumps(issue.to_json())


def check_everything(doc: object, pipeline_dir: str = "") -> None:
    """Run every entry point on ``doc``; only PipelineValidationError may escape them."""
    issues = validate_definition(doc, pipeline_dir=pipeline_dir)
    assert_well_formed(issues)
    try:
        ensure_valid(doc, pipeline_dir=pipeline_dir)
    except PipelineValidationError as error:
        assert error.issues == issues
        assert str(error)
    else:
        assert issues == []
    graph = None
    if isinstance(doc, dict):
        try:
            graph = PipelineGraph.from_definition(doc)
            graph.topological_order()
        except PipelineValidationError as error:
            assert_well_formed(error.issues)
    if not issues:
        # What validation accepts can be saved, read back unchanged, and run in order.
        assert isinstance(doc, dict) and graph is not None
        assert parse_definition(dump_definition(doc)) == doc
        assert sorted(graph.topological_order()) == sorted(doc["steps"])


@CHECKS
@given(json_values | python_values)
def test_any_value_is_validated_without_raising(doc: object) -> None:
    check_everything(doc)


@CHECKS
@given(st.text() | json_like_text)
def test_any_text_is_parsed_or_refused_with_a_validation_error(text: str) -> None:
    try:
        doc = parse_definition(text)
    except PipelineValidationError as error:
        assert error.issues
        assert_well_formed(error.issues)
    else:
        assert isinstance(doc, dict)
        check_everything(doc)


@CHECKS
@given(json_values)
def test_json_text_of_any_value_is_parsed_or_refused_with_a_validation_error(
    value: object,
) -> None:
    text = json.dumps(value)
    try:
        doc = parse_definition(text)
    except PipelineValidationError as error:
        assert_well_formed(error.issues)
    else:
        assert doc == json.loads(text)
        check_everything(doc)


@CHECKS
@given(finite_json_objects)
def test_dumped_objects_parse_back_unchanged(doc: dict[str, Any]) -> None:
    assert parse_definition(dump_definition(doc)) == doc


def _locations(doc: object) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in ``doc``."""
    found: list[tuple[Any, Any]] = []
    pending = [doc]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            found.extend((value, key) for key in value)
            pending.extend(value.values())
        elif isinstance(value, list):
            found.extend((value, index) for index in range(len(value)))
            pending.extend(value)
    return found


def _mutate(doc: dict[str, Any], data: st.DataObject) -> None:
    operation = data.draw(st.sampled_from(["drop", "retype", "connect"]))
    if operation == "connect":
        steps = doc.get("steps")
        steps = steps if isinstance(steps, dict) else {}
        incoming: list[list[Any]] = [
            step["incoming_connections"]
            for step in steps.values()
            if isinstance(step, dict) and isinstance(step.get("incoming_connections"), list)
        ]
        if incoming:
            uuids = list(steps)
            target = data.draw(st.sampled_from(incoming))
            target.append(data.draw(st.sampled_from(uuids) | st.text(max_size=5)))
            return
    locations = _locations(doc)
    if not locations:
        return
    container, key = data.draw(st.sampled_from(locations))
    if operation == "drop":
        del container[key]
    else:
        container[key] = data.draw(json_values)


@CHECKS
@given(st.data(), st.sampled_from(["", "pipelines", "a/b", "../x"]))
def test_mutations_of_a_valid_pipeline_never_crash(data: st.DataObject, pipeline_dir: str) -> None:
    doc = parse_definition(FIXTURE)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        _mutate(doc, data)
    check_everything(doc, pipeline_dir)


@CHECKS
@given(st.data())
def test_added_connections_are_valid_or_explained(data: st.DataObject) -> None:
    doc = parse_definition(FIXTURE)
    uuids = list(doc["steps"])
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        child = data.draw(st.sampled_from(uuids))
        doc["steps"][child]["incoming_connections"].append(data.draw(st.sampled_from(uuids)))
    rules = {issue.rule for issue in validate_definition(doc)}
    assert rules <= {"cycle", "self-connection", "duplicate-connection"}
    try:
        order = PipelineGraph.from_definition(doc).topological_order()
    except PipelineValidationError:
        assert rules & {"cycle", "self-connection"}
    else:
        assert "cycle" not in rules and "self-connection" not in rules
        for position, uuid in enumerate(order):
            assert set(doc["steps"][uuid]["incoming_connections"]) <= set(order[:position])
