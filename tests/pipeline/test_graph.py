import pickle
from collections.abc import Callable
from typing import Any

import pytest

from jupyter_orchest.pipeline import (
    PipelineGraph,
    PipelineValidationError,
    UnknownStepError,
    parse_definition,
)

Factory = Callable[..., dict[str, Any]]


@pytest.fixture
def diamond(make_pipeline: Factory, make_step: Factory) -> PipelineGraph:
    """load -> (clean, features) -> train; features comes first in the file."""
    return PipelineGraph.from_definition(
        make_pipeline(
            make_step("train", "Train", ["clean", "features"]),
            make_step("features", "Features", ["load"]),
            make_step("load", "Load"),
            make_step("clean", "Clean", ["load"]),
        )
    )


@pytest.fixture
def chain(make_pipeline: Factory, make_step: Factory) -> PipelineGraph:
    """s1 -> s2 -> s3 -> s4, written in reverse order."""
    steps = [
        make_step(f"s{i}", f"Step {i}", [f"s{i - 1}"] if i > 1 else []) for i in range(4, 0, -1)
    ]
    return PipelineGraph.from_definition(make_pipeline(*steps))


def test_parents_keep_the_order_of_incoming_connections(diamond: PipelineGraph) -> None:
    assert diamond.parents("train") == ["clean", "features"]
    assert diamond.parents("load") == []


def test_children_are_in_file_order(diamond: PipelineGraph) -> None:
    assert diamond.children("load") == ["features", "clean"]
    assert diamond.children("train") == []


def test_steps_are_in_file_order(diamond: PipelineGraph) -> None:
    assert diamond.steps == ("train", "features", "load", "clean")


def test_topological_order_breaks_ties_by_file_order(diamond: PipelineGraph) -> None:
    assert diamond.topological_order() == ["load", "features", "clean", "train"]


def test_topological_order_of_a_chain_ignores_file_order(chain: PipelineGraph) -> None:
    assert chain.topological_order() == ["s1", "s2", "s3", "s4"]


def test_independent_steps_keep_file_order(make_pipeline: Factory, make_step: Factory) -> None:
    doc = make_pipeline(make_step("z", "Z"), make_step("a", "A"), make_step("m", "M", ["z"]))
    assert PipelineGraph.from_definition(doc).topological_order() == ["z", "a", "m"]


def test_ancestors_and_descendants(diamond: PipelineGraph, chain: PipelineGraph) -> None:
    assert diamond.ancestors(["train"]) == {"load", "clean", "features"}
    assert diamond.ancestors(["clean", "features"]) == {"load"}
    assert diamond.descendants(["load"]) == {"clean", "features", "train"}
    assert diamond.descendants(["train"]) == set()
    assert chain.ancestors(["s2", "s4"]) == {"s1", "s2", "s3"}
    assert chain.descendants(["s1", "s3"]) == {"s2", "s3", "s4"}


def test_selection_is_just_the_steps_in_topological_order(diamond: PipelineGraph) -> None:
    assert diamond.selection(["train", "clean", "load"]) == ["load", "clean", "train"]
    assert diamond.selection([]) == []


def test_incoming_adds_every_ancestor(diamond: PipelineGraph, chain: PipelineGraph) -> None:
    assert diamond.incoming(["clean"]) == ["load", "clean"]
    assert diamond.incoming(["train"]) == ["load", "features", "clean", "train"]
    assert chain.incoming(["s3"]) == ["s1", "s2", "s3"]


def test_outgoing_adds_every_descendant(diamond: PipelineGraph, chain: PipelineGraph) -> None:
    assert diamond.outgoing(["features"]) == ["features", "train"]
    assert diamond.outgoing(["load"]) == ["load", "features", "clean", "train"]
    assert chain.outgoing(["s2"]) == ["s2", "s3", "s4"]


def test_a_single_string_counts_as_one_uuid(diamond: PipelineGraph) -> None:
    assert diamond.incoming("clean") == ["load", "clean"]


def test_unknown_steps_raise_a_key_error_naming_them(diamond: PipelineGraph) -> None:
    with pytest.raises(UnknownStepError) as caught:
        diamond.incoming(["clean", "ghost", "phantom", "ghost"])
    error = caught.value
    assert error.uuids == ["ghost", "phantom"]
    assert isinstance(error, KeyError) and isinstance(error, PipelineValidationError)
    assert [(i.rule, i.step) for i in error.issues] == [
        ("unknown-step", "ghost"),
        ("unknown-step", "phantom"),
    ]
    assert 'no step with uuid "ghost"' in str(error)
    for query in (diamond.parents, diamond.children):
        with pytest.raises(KeyError):
            query("ghost")
    for many in (diamond.ancestors, diamond.descendants, diamond.selection, diamond.outgoing):
        with pytest.raises(KeyError):
            many(["ghost"])


def test_unknown_step_errors_survive_pickling() -> None:
    copy = pickle.loads(pickle.dumps(UnknownStepError(["x"])))
    assert copy.uuids == ["x"] and copy.issues[0].step == "x"


def test_an_acyclic_graph_has_no_cycle(diamond: PipelineGraph) -> None:
    assert diamond.find_cycle() is None
    assert diamond.find_cycles() == []


def test_a_cycle_is_found_in_data_flow_order(make_pipeline: Factory, make_step: Factory) -> None:
    doc = make_pipeline(
        make_step("load", "Load", ["train"]),
        make_step("clean", "Clean", ["load"]),
        make_step("train", "Train", ["clean"]),
        make_step("start", "Start"),
    )
    graph = PipelineGraph.from_definition(doc)
    assert graph.find_cycle() == ["load", "clean", "train"]
    with pytest.raises(PipelineValidationError) as caught:
        graph.topological_order()
    [issue] = caught.value.issues
    assert issue.rule == "cycle"
    assert "steps form a cycle: Load -> Clean -> Train -> Load" in issue.message
    with pytest.raises(PipelineValidationError):
        graph.incoming(["start"])
    assert graph.ancestors(["load"]) == {"load", "clean", "train"}


def test_a_self_connection_is_a_cycle_of_one(make_pipeline: Factory, make_step: Factory) -> None:
    graph = PipelineGraph.from_definition(make_pipeline(make_step("a", "Load", ["a", "a"])))
    assert graph.parents("a") == ["a"]
    assert graph.find_cycle() == ["a"]


def test_removing_the_closing_connection_of_each_cycle_found_leaves_none() -> None:
    parents = {"a": ["d"], "b": ["a", "c"], "c": ["b"], "d": ["b", "c"]}
    graph = PipelineGraph(parents)
    cycles = graph.find_cycles()
    assert cycles
    for cycle in cycles:
        parents[cycle[0]].remove(cycle[-1])
    assert PipelineGraph(parents).find_cycle() is None


def test_long_chains_need_no_recursion() -> None:
    count = 20_000
    parents = {f"s{i}": [f"s{i - 1}"] if i else [] for i in range(count)}
    graph = PipelineGraph(parents)
    assert graph.find_cycle() is None
    assert graph.topological_order()[-1] == f"s{count - 1}"
    assert len(graph.incoming([f"s{count - 1}"])) == count


def test_the_constructor_refuses_unknown_parents() -> None:
    with pytest.raises(UnknownStepError) as caught:
        PipelineGraph({"a": ["ghost"]})
    assert caught.value.uuids == ["ghost"]


def test_a_graph_cannot_be_built_without_steps() -> None:
    with pytest.raises(PipelineValidationError) as caught:
        PipelineGraph.from_definition({"name": "x"})
    assert [(i.pointer, i.rule) for i in caught.value.issues] == [("/steps", "schema")]


def test_a_graph_cannot_be_built_from_malformed_connections(
    make_pipeline: Factory, make_step: Factory
) -> None:
    doc = make_pipeline(
        make_step("a", "Load", ["ghost"]),
        make_step("b", "Clean", incoming_connections="a"),
        make_step("c", "Train", [3]),
    )
    with pytest.raises(PipelineValidationError) as caught:
        PipelineGraph.from_definition(doc)
    found = {(i.pointer, i.rule) for i in caught.value.issues}
    assert found == {
        ("/steps/b/incoming_connections", "schema"),
        ("/steps/c/incoming_connections", "schema"),
        ("/steps/a/incoming_connections/0", "unknown-connection"),
    }


def test_the_orchest_fixture_runs_in_a_sensible_order(orchest_text: str) -> None:
    graph = PipelineGraph.from_definition(parse_definition(orchest_text))
    load, explore, prep, train = (
        "106bb318-252d-4f94-ba86-c36722dddf41",
        "ac578410-0cab-4c58-a968-19ee7386203a",
        "c9484b08-9d23-4f1a-96da-c41711d77c09",
        "0ecdafa6-317b-4acd-be73-b69983053501",
    )
    assert graph.topological_order() == [load, explore, prep, train]
    assert graph.incoming([train]) == [load, prep, train]
