import json
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from harness import tools, workloads

from jupyter_orchest.pipeline import ensure_valid, parse_definition

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "quickstart"
ALL_WORKLOADS = [workloads.chain(), workloads.fanout(), workloads.quickstart(EXAMPLE)]
VENV = Path("/nonexistent-venv")


@pytest.mark.parametrize("workload", ALL_WORKLOADS, ids=lambda w: w.name)
def test_papermill_driver_runs_steps_in_dependency_order(workload, tmp_path) -> None:
    command = tools.Papermill(tools.Installed(VENV)).prepare(workload, tmp_path)
    assert command.argv == [str(VENV / "bin" / "python"), "run_pipeline.py"]
    assert command.env["PATH"].startswith(str(VENV / "bin"))
    driver = (tmp_path / "run_pipeline.py").read_text()
    compile(driver, "run_pipeline.py", "exec")
    order = [step.file_name for step in workload.topological_order()]
    assert repr(order) in driver
    for step in workload.steps:
        assert (tmp_path / step.file_name).is_file()


@pytest.mark.parametrize("workload", ALL_WORKLOADS, ids=lambda w: w.name)
def test_notebooks_are_valid_nbformat(workload, tmp_path) -> None:
    tools.write_plain_steps(workload, tmp_path)
    for step in workload.steps:
        if step.kind == "notebook":
            nbformat.validate(nbformat.read(tmp_path / step.file_name, as_version=4))


@pytest.mark.parametrize("workload", ALL_WORKLOADS, ids=lambda w: w.name)
def test_elyra_pipeline_links_every_parent(workload, tmp_path) -> None:
    command = tools.Elyra(tools.Installed(VENV)).prepare(workload, tmp_path)
    assert command.argv[1:] == ["run", f"{workload.name}.pipeline"]
    pipeline = json.loads((tmp_path / f"{workload.name}.pipeline").read_text())
    (primary,) = pipeline["pipelines"]
    assert primary["app_data"]["version"] == 8
    ids = {node["id"]: node for node in primary["nodes"]}
    for step in workload.steps:
        node = ids[tools.stable_uuid(workload.name, step.name)]
        links = node["inputs"][0].get("links", [])
        assert {link["node_id_ref"] for link in links} == {
            tools.stable_uuid(workload.name, parent) for parent in step.parents
        }
        filename = node["app_data"]["component_parameters"]["filename"]
        assert (tmp_path / filename).is_file()
        assert filename.endswith((".ipynb", ".py")), "Elyra has no shell node"


@pytest.mark.parametrize("processes", [0, 8])
@pytest.mark.parametrize("workload", ALL_WORKLOADS, ids=lambda w: w.name)
def test_ploomber_declares_upstream_in_each_source(workload, processes, tmp_path) -> None:
    tool = tools.Ploomber(tools.Installed(VENV), processes=processes)
    command = tool.prepare(workload, tmp_path)
    assert "--force" in command.argv
    spec = yaml.safe_load((tmp_path / "pipeline.yaml").read_text())
    if processes:
        assert spec["executor"] == {
            "dotted_path": "ploomber.executors.Parallel",
            "processes": processes,
        }
    else:
        assert spec["executor"] == "serial"
    assert [task["name"] for task in spec["tasks"]] == [step.name for step in workload.steps]
    for step in workload.steps:
        source = (tmp_path / step.file_name).read_text()
        for parent in step.parents:
            assert parent in source
        if step.kind == "shell":
            assert "{{ product }}" in source


@pytest.mark.parametrize("workload", ALL_WORKLOADS[:2], ids=lambda w: w.name)
def test_orchest_definition_is_valid_for_our_own_validator(workload, tmp_path) -> None:
    tool = tools.JupyterOrchest(sys.executable, EXAMPLE / ".orchest" / "environments")
    command = tool.prepare(workload, tmp_path)
    assert command.argv[1:4] == ["orchest", "run", f"{workload.name}.orchest"]
    # Each run computes every step: its cache is its own, and empty.
    assert command.argv[4:] == ["--cache-dir", str(tmp_path / ".cache")]
    definition = parse_definition((tmp_path / f"{workload.name}.orchest").read_text())
    ensure_valid(definition, pipeline_dir=str(tmp_path))
    assert definition["settings"]["max_steps_parallelism"] == workload.max_steps_parallelism
    environment = next(iter(definition["steps"].values()))["environment"]
    assert (tmp_path / ".orchest" / "environments" / environment / "properties.json").is_file()


def test_orchest_quickstart_is_the_example_copied(tmp_path) -> None:
    tool = tools.JupyterOrchest(sys.executable, EXAMPLE / ".orchest" / "environments")
    command = tool.prepare(workloads.quickstart(EXAMPLE), tmp_path)
    assert command.argv[3] == "quickstart.orchest"
    assert (tmp_path / "clean.py").read_text() == (EXAMPLE / "clean.py").read_text()


def test_orchest_is_unavailable_without_jupyter() -> None:
    tool = tools.JupyterOrchest(None, EXAMPLE / ".orchest" / "environments")
    assert tool.unavailable_reason() is not None


def test_check_outputs_wants_every_marker_and_one_kernel_per_notebook(tmp_path) -> None:
    chain = workloads.chain(length=3)
    assert tools.check_outputs(chain, tmp_path) is not None
    markers = tmp_path / workloads.MARKER_DIR
    markers.mkdir()
    for index, step in enumerate(chain.steps):
        (markers / step.name).write_text(str(1000 + index))
    assert tools.check_outputs(chain, tmp_path) is None
    (markers / chain.steps[2].name).write_text("1000")
    assert "kernel" in (tools.check_outputs(chain, tmp_path) or "")
