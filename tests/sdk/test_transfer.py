"""Data passing between real step processes: ``output`` in parents, ``get_inputs`` in a child."""

import json
from pathlib import Path
from typing import Any

import pytest

Project = Any  # conftest.Project; conftest modules cannot be imported by tests

# Two parents and a child that lists them in the opposite order, so that the order of unnamed
# inputs is seen to follow the child's incoming connections rather than the file or run order.
PARENT_A = """
    import pandas as pd
    import pyarrow as pa
    import orchest
    from orchest.transfer import Serialization, output_to_disk

    orchest.output({"k": [1, 2]}, name="config")
    orchest.output("first", name="greeting")
    orchest.output(pa.table({"x": [1, 2, 3]}), name="table")
    orchest.output("second", name="greeting")  # replaces "first", keeps its place
    orchest.output(pa.record_batch({"y": ["a", "b"]}), name="batch")
    frame = pd.DataFrame({"z": [1.5, 2.5]}, index=pd.Index([10, 20], name="i"))
    orchest.output(frame, name="frame")
    orchest.output(pd.DataFrame({"m": [1, "a"]}), name="mixed")  # Arrow cannot: pickled
    orchest.output("a1", None)
    orchest.output("a2", name=None)
    # Orchest's way of handing over bytes already serialized: an Arrow IPC stream.
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, pa.schema([("s", pa.int64())])) as writer:
        writer.write_table(pa.table({"s": [7]}))
    output_to_disk(sink.getvalue(), "prepared", serialization=Serialization.ARROW_TABLE)
"""

PARENT_B = """
    import sys
    import orchest

    orchest.output("b1", None)
    orchest.transfer.output_to_memory(3, name="count")
    assert "pyarrow" not in sys.modules and "pandas" not in sys.modules
"""

CHILD = """
    import json
    import orchest

    inputs = orchest.get_inputs()
    import pandas as pd
    import pyarrow as pa

    table, batch, frame = inputs["table"], inputs["batch"], inputs["frame"]
    expected_frame = pd.DataFrame({"z": [1.5, 2.5]}, index=pd.Index([10, 20], name="i"))

    # Where the table's data lives: in a mapping of its output file, not in Python's heap.
    address = table.column("x").chunk(0).buffers()[1].address
    mapped_file = None
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            low, high = (int(bound, 16) for bound in fields[0].split("-"))
            if low <= address < high:
                mapped_file = fields[5] if len(fields) > 5 else ""

    print(json.dumps({
        "keys": list(inputs),
        "unnamed": inputs["unnamed"],
        "config": inputs["config"],
        "greeting": inputs["greeting"],
        "count": inputs["count"],
        "table": [type(table).__name__, table.to_pydict()],
        "batch": [type(batch).__name__, batch.to_pydict()],
        "frame_equal": isinstance(frame, pd.DataFrame) and frame.equals(expected_frame),
        "mixed": inputs["mixed"]["m"].tolist(),
        "prepared": inputs["prepared"].to_pydict(),
        "mapped_file": mapped_file,
    }))
"""


@pytest.fixture(scope="module")
def computed(module_project: Project) -> Project:
    """Parents A and B have run; C (parents B, A) and plain (parent B) have not."""
    project = module_project
    project.write_pipeline(
        project.step("step-a", "Load A"),
        project.step("step-b", "Load B"),
        project.step("step-c", "Report", ["step-b", "step-a"]),
        project.step("plain", "Plain", ["step-b"]),
        project.step("no-arrow", "No Arrow", ["step-a"]),
    )
    project.run("step-a", PARENT_A)
    project.run("step-b", PARENT_B)
    return project


@pytest.fixture(scope="module")
def child_inputs(computed: Project) -> dict[str, Any]:
    result: dict[str, Any] = computed.run_json("step-c", CHILD)
    return result


def test_every_kind_of_output_reaches_the_child(child_inputs: dict[str, Any]) -> None:
    assert child_inputs["config"] == {"k": [1, 2]}
    assert child_inputs["greeting"] == "second"
    assert child_inputs["count"] == 3
    assert child_inputs["table"] == ["Table", {"x": [1, 2, 3]}]
    assert child_inputs["batch"] == ["RecordBatch", {"y": ["a", "b"]}]
    assert child_inputs["frame_equal"] is True
    assert child_inputs["mixed"] == [1, "a"]
    assert child_inputs["prepared"] == {"s": [7]}


def test_unnamed_inputs_follow_the_incoming_connections(child_inputs: dict[str, Any]) -> None:
    assert child_inputs["unnamed"] == ["b1", "a1", "a2"]
    assert child_inputs["keys"][0] == "unnamed"  # first, as in Orchest


def test_arrow_inputs_are_memory_mapped(child_inputs: dict[str, Any], computed: Project) -> None:
    if not Path("/proc/self/maps").exists():
        pytest.skip("needs /proc to see memory mappings")
    mapped = Path(child_inputs["mapped_file"])
    assert mapped.parent == computed.step_dir("step-a")
    assert mapped.suffix == ".arrow"


def test_the_manifest_lists_outputs_in_order_with_their_serialization(
    computed: Project,
) -> None:
    manifest = json.loads((computed.step_dir("step-a") / "manifest.json").read_text())
    assert manifest["version"] == 1
    assert manifest["step_uuid"] == "step-a"
    listed = [(o["name"], o["serialization"]) for o in manifest["outputs"]]
    assert listed == [
        ("config", "PICKLE"),
        ("greeting", "PICKLE"),
        ("table", "ARROW_TABLE"),
        ("batch", "ARROW_BATCH"),
        ("frame", "PANDAS_DATAFRAME"),
        ("mixed", "PICKLE"),
        (None, "PICKLE"),
        (None, "PICKLE"),
        ("prepared", "ARROW_TABLE"),
    ]
    for entry in manifest["outputs"]:
        path = computed.step_dir("step-a") / entry["file"]
        assert path.stat().st_size == entry["size"]
        assert entry["run_uuid"] == "run-1"


def test_writes_leave_no_temporary_or_replaced_files(computed: Project) -> None:
    folder = computed.step_dir("step-a")
    manifest = json.loads((folder / "manifest.json").read_text())
    listed = {entry["file"] for entry in manifest["outputs"]}
    assert {p.name for p in folder.iterdir()} == listed | {"manifest.json"}


def test_a_step_using_plain_objects_never_imports_pyarrow(computed: Project) -> None:
    code = """
        import json, sys
        import orchest
        inputs = orchest.get_inputs(verbose=True)
        print(json.dumps([inputs, sorted({"pyarrow", "pandas", "numpy"} & set(sys.modules))]))
    """
    result = computed.run("plain", code)
    assert 'Retrieved input from step: "Load B"' in result.stdout
    inputs, heavy = json.loads(result.stdout.splitlines()[-1])
    assert inputs == {"unnamed": ["b1"], "count": 3}
    assert heavy == []


def test_arrow_outputs_in_a_step_without_pyarrow_say_what_to_install(
    computed: Project,
) -> None:
    code = """
        import sys
        sys.modules["pyarrow"] = None  # as if it were not installed
        import orchest
        orchest.get_inputs()
    """
    error = computed.fail("no-arrow", code)
    assert error.startswith("jupyter_orchest.sdk.errors.DeserializationError")
    assert 'output "table" of step "Load A"' in error and "install pyarrow" in error


def _two_parents(project: Project) -> None:
    project.write_pipeline(
        project.step("step-a", "Load A"),
        project.step("step-b", "Load B"),
        project.step("step-c", "Report", ["step-a", "step-b"]),
    )


def test_the_same_name_from_two_parents_is_a_collision(project: Project) -> None:
    _two_parents(project)
    project.run("step-a", "import orchest; orchest.output(1, 'x'); orchest.output(2, 'y')")
    project.run("step-b", "import orchest; orchest.output(3, 'x'); orchest.output(4, None)")
    error = project.fail("step-c", "import orchest; orchest.get_inputs()")
    assert error.startswith("jupyter_orchest.sdk.errors.InputNameCollisionError")
    result = project.run(
        "step-c",
        """
        import orchest
        try:
            orchest.get_inputs()
        except orchest.error.InputNameCollisionError as error:
            print(error)
        """,
    )
    assert "x: ['Load A', 'Load B']" in result.stdout
    assert "y:" not in result.stdout


def test_a_parent_that_has_not_run_is_named_by_its_title(project: Project) -> None:
    _two_parents(project)
    project.run("step-a", "import orchest; orchest.output(1, 'x')")
    error = project.fail("step-c", "import orchest; orchest.get_inputs(ignore_failure=True)")
    assert error.startswith("jupyter_orchest.sdk.errors.OutputNotFoundError")
    assert '"Load B"' in error and "Run step" in error


def test_ignore_failure_gives_none_for_a_missing_file(project: Project) -> None:
    _two_parents(project)
    project.run("step-a", "import orchest; orchest.output(1, 'x'); orchest.output(2, None)")
    project.run("step-b", "import orchest; orchest.output(3, 'y')")
    manifest = json.loads((project.step_dir("step-a") / "manifest.json").read_text())
    for entry in manifest["outputs"]:
        (project.step_dir("step-a") / entry["file"]).unlink()

    error = project.fail("step-c", "import orchest; orchest.get_inputs()")
    assert error.startswith("jupyter_orchest.sdk.errors.DiskOutputNotFoundError")
    assert 'output "x" of step "Load A"' in error

    result = project.run(
        "step-c",
        "import json, orchest; print(json.dumps(orchest.get_inputs(True, verbose=True)))",
    )
    assert json.loads(result.stdout.splitlines()[-1]) == {"unnamed": [None], "x": None, "y": 3}
    assert 'Failed to retrieve input from step: "Load A"' in result.stdout
    assert 'Retrieved input from step: "Load B"' in result.stdout


def test_a_truncated_output_is_not_returned(project: Project) -> None:
    _two_parents(project)
    project.run("step-a", "import orchest; orchest.output(list(range(1000)), 'x')")
    project.run("step-b", "import orchest; orchest.output(3, 'y')")
    manifest = json.loads((project.step_dir("step-a") / "manifest.json").read_text())
    data = project.step_dir("step-a") / manifest["outputs"][0]["file"]
    data.write_bytes(data.read_bytes()[:-10])
    error = project.fail("step-c", "import orchest; orchest.get_inputs()")
    assert "DiskOutputNotFoundError" in error and "incomplete" in error


def test_a_corrupt_manifest_is_reported(project: Project) -> None:
    _two_parents(project)
    project.run("step-a", "import orchest; orchest.output(1, 'x')")
    project.run("step-b", "import orchest; orchest.output(3, 'y')")
    (project.step_dir("step-b") / "manifest.json").write_text('{"version": 1, "outputs": [')
    error = project.fail("step-c", "import orchest; orchest.get_inputs(ignore_failure=True)")
    assert error.startswith("jupyter_orchest.sdk.errors.InvalidMetaDataError")
    assert "step-b" in error and "Rerun the step" in error


def test_an_output_that_cannot_be_unpickled_is_a_deserialization_error(
    project: Project,
) -> None:
    _two_parents(project)
    project.write_pipeline(
        project.step("step-a", "Load A"), project.step("step-c", "Report", ["step-a"])
    )
    (project.root / "helper.py").write_text("class Thing:\n    pass\n")
    project.run("step-a", "import orchest, helper; orchest.output(helper.Thing(), 'thing')")
    (project.root / "helper.py").unlink()
    error = project.fail("step-c", "import orchest; orchest.get_inputs()")
    assert error.startswith("jupyter_orchest.sdk.errors.DeserializationError")
    assert 'output "thing" of step "Load A"' in error and "helper" in error


@pytest.mark.parametrize("name", ["unnamed", 5, b"bytes"])
def test_invalid_output_names_are_refused(project: Project, name: object) -> None:
    project.write_pipeline(project.step("step-a", "Load A"))
    error = project.fail("step-a", f"import orchest; orchest.output(1, {name!r})")
    assert error.startswith("jupyter_orchest.sdk.errors.DataInvalidNameError")
    assert not project.step_dir("step-a").exists()


def test_unpicklable_data_is_a_serialization_error_and_writes_nothing(project: Project) -> None:
    project.write_pipeline(project.step("step-a", "Load A"))
    code = """
        import threading
        import orchest
        orchest.output(1, "kept")
        orchest.output(threading.Lock(), "lock")
    """
    error = project.fail("step-a", code)
    assert error.startswith("jupyter_orchest.sdk.errors.SerializationError")
    folder = project.step_dir("step-a")
    assert sorted(p.name for p in folder.iterdir()) == ["0.pickle", "manifest.json"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert [o["name"] for o in manifest["outputs"]] == ["kept"]


def test_a_dataframe_is_pickled_where_pyarrow_is_missing(project: Project) -> None:
    project.write_pipeline(
        project.step("step-a", "Load A"), project.step("step-c", "Report", ["step-a"])
    )
    code = """
        import sys
        sys.modules["pyarrow"] = None  # as if it were not installed
        import pandas as pd
        import orchest
        orchest.output(pd.DataFrame({"a": [1, 2]}), "frame")
    """
    project.run("step-a", code)
    manifest = json.loads((project.step_dir("step-a") / "manifest.json").read_text())
    assert manifest["outputs"][0]["serialization"] == "PICKLE"
    result = project.run_json(
        "step-c",
        "import json, orchest; print(json.dumps(orchest.get_inputs()['frame']['a'].tolist()))",
    )
    assert result == [1, 2]
