"""The magics' pure parts: arguments, parameter values, container paths, tables."""

from datetime import datetime, timezone

import pytest
from IPython.core.error import UsageError

from jupyter_orchest.sdk.magics import command_parser, parse_assignments
from jupyter_orchest.sdk.run_tables import (
    parents_first,
    progress_table,
    seconds,
    status_table,
    summary,
)
from jupyter_orchest.sdk.server_link import ContainerPaths, LinkError


def test_commands_and_their_options() -> None:
    parse = command_parser().parse_args
    run = parse(["run", "--incoming", "--pipeline", "a/p.orchest"])
    assert (run.command, run.incoming, run.all, run.pipeline, run.step) == (
        "run",
        True,
        False,
        "a/p.orchest",
        None,
    )
    params = parse(["params", "--step", "Clean", "low=3", "name=x y"])
    assert (params.step, params.assignments) == ("Clean", ["low=3", "name=x y"])
    assert parse(["use", "p.orchest", "Clean"]).use_step == "Clean"
    assert parse(["use"]).use_pipeline is None
    with pytest.raises(UsageError, match="not allowed with argument"):
        parse(["run", "--all", "--incoming"])
    with pytest.raises(UsageError, match="unrecognized arguments: --fast"):
        parse(["status", "--fast"])


def test_parameter_values_are_json_else_strings() -> None:
    assert parse_assignments(["a=0.2", "b=abc", "c=[1, 2]", "d=", "e=null", "f=a=b"]) == {
        "a": 0.2,
        "b": "abc",
        "c": [1, 2],
        "d": "",
        "e": None,
        "f": "a=b",
    }
    for wrong in ("alpha", "=3"):
        with pytest.raises(UsageError, match="is not KEY=VALUE"):
            parse_assignments([wrong])


def test_paths_between_host_and_container() -> None:
    paths = ContainerPaths.from_environment(
        {
            "JUPYTER_ORCHEST_CONTAINER_PATHS": ContainerPaths.encode(
                [("/home/u/proj", "/project-dir"), ("/home/u/proj/data", "/data")]
            )
        }
    )
    assert paths.to_kernel("/home/u/proj/a/b.ipynb") == "/project-dir/a/b.ipynb"
    assert paths.to_kernel("/home/u/proj/data/x.csv") == "/data/x.csv"  # the nearest mount
    assert paths.to_kernel("/home/u/project2") == "/home/u/project2"  # not a mount
    assert paths.to_host("/project-dir") == "/home/u/proj"
    assert paths.to_host("/data/x.csv") == "/home/u/proj/data/x.csv"
    local = ContainerPaths.from_environment({})
    assert local.to_kernel("/home/u/proj") == local.to_host("/home/u/proj") == "/home/u/proj"
    with pytest.raises(LinkError, match="is not a JSON list"):
        ContainerPaths.from_environment({"JUPYTER_ORCHEST_CONTAINER_PATHS": "{"})


RUN = {
    "id": "r1",
    "pipeline_path": "p.orchest",
    "state": "STARTED",
    "created_at": "2026-01-01T10:00:00+00:00",
    "started_at": "2026-01-01T10:00:00+00:00",
    "finished_at": None,
    "steps": [
        {
            "title": "A",
            "state": "COMPUTED",
            "started_at": "2026-01-01T10:00:00",
            "finished_at": "2026-01-01T10:00:01.5",
            "cached": True,
        },
        {"title": "B", "state": "RUNNING", "started_at": "2026-01-01T10:00:01.5"},
        {"title": "C", "state": "PENDING"},
    ],
}


def test_the_progress_of_a_run() -> None:
    now = datetime(2026, 1, 1, 10, 0, 4, tzinfo=timezone.utc)
    table = progress_table(RUN, now)
    assert repr(table).splitlines() == [
        "Run r1 of p.orchest: STARTED",
        "step  state     time   cached",
        "A     COMPUTED  1.5 s  yes",
        "B     RUNNING   2.5 s",
        "C     PENDING",
    ]
    assert "<td>RUNNING</td><td>2.5 s</td>" in table._repr_html_()
    assert seconds(None, None) == "" and seconds("not a time", None) == ""


def test_the_summary_of_a_finished_run() -> None:
    finished = {
        **RUN,
        "state": "FAILURE",
        "finished_at": "2026-01-01T10:00:03+00:00",
        "steps": [
            {"state": "COMPUTED", "cached": True},
            {"state": "COMPUTED", "cached": False},
            {"state": "FAILURE"},
            {"state": "ABORTED"},
        ],
    }
    assert summary(finished) == (
        "Run r1: FAILURE in 3.0 s (1 computed, 1 from the cache, 1 failure, 1 aborted)."
    )


def test_steps_are_listed_after_their_parents() -> None:
    steps = {
        "c": {"incoming_connections": ["b"]},
        "a": {"incoming_connections": []},
        "b": {"incoming_connections": ["a", "gone"]},
        "d": {"incoming_connections": []},
    }
    assert parents_first(steps) == ["a", "d", "b", "c"]
    cycle = {"x": {"incoming_connections": ["y"]}, "y": {"incoming_connections": ["x"]}}
    assert parents_first(cycle) == ["x", "y"]


def test_the_status_of_each_step_from_the_latest_run_that_had_it() -> None:
    steps = {
        "b": {"title": "B", "incoming_connections": ["a"]},
        "a": {"title": "A", "incoming_connections": []},
        "c": {"title": "", "incoming_connections": ["b"]},
    }
    newest = {
        "id": "r2",
        "created_at": "2026-01-01T11:00:00+00:00",
        "steps": [
            {"uuid": "b", "state": "FAILURE", "started_at": "2026-01-01T11:00:00+00:00"},
        ],
    }
    older = {
        "id": "r1",
        "created_at": "2026-01-01T10:00:00+00:00",
        "steps": [
            {
                "uuid": "a",
                "state": "COMPUTED",
                "cached": True,
                "finished_at": "2026-01-01T10:00:02+00:00",
            },
            {"uuid": "b", "state": "COMPUTED", "finished_at": "2026-01-01T10:00:03+00:00"},
        ],
    }
    table = status_table("p.orchest", steps, [newest, older], this_step="b")
    when = {row[0]: row for row in table.rows}
    assert [row[0] for row in table.rows] == ["A", "B (this notebook)", "c"]
    assert when["A"][1:3] == ("COMPUTED", "yes") and when["A"][4] == "r1"
    assert (
        when["B (this notebook)"][1:3] == ("FAILURE", "") and when["B (this notebook)"][4] == "r2"
    )
    assert when["c"] == ("c", "not run yet", "", "", "")
    assert when["A"][3] == datetime(
        2026, 1, 1, 10, 0, 2, tzinfo=timezone.utc
    ).astimezone().strftime("%Y-%m-%d %H:%M:%S")
