import json

from harness import workloads


def test_chain_is_a_chain_of_ten_notebooks() -> None:
    chain = workloads.chain()
    assert len(chain.steps) == 10
    assert all(step.kind == "notebook" for step in chain.steps)
    assert chain.steps[0].parents == ()
    for previous, step in zip(chain.steps, chain.steps[1:], strict=False):
        assert step.parents == (previous.name,)
    assert [s.name for s in chain.topological_order()] == [s.name for s in chain.steps]


def test_fanout_has_eight_sleepers_between_root_and_sink() -> None:
    fanout = workloads.fanout()
    sleepers = [step for step in fanout.steps if step.parents == ("root",)]
    assert len(sleepers) == 8
    assert all(any("time.sleep(2)" in cell for cell in step.cells) for step in sleepers)
    assert set(fanout.step("sink").parents) == {step.name for step in sleepers}
    order = [step.name for step in fanout.topological_order()]
    assert order[0] == "root" and order[-1] == "sink"
    assert fanout.max_steps_parallelism == 8


def test_quickstart_steps_pass_data_through_files(tmp_path) -> None:
    quickstart = workloads.quickstart(tmp_path)
    assert [step.kind for step in quickstart.topological_order()] == [
        "notebook",
        "python",
        "notebook",
        "shell",
    ]
    assert quickstart.orchest_project == tmp_path
    assert quickstart.step("report").output == workloads.REPORT_OUTPUT


def test_notebook_json_tags_the_parameters_cell() -> None:
    notebook = workloads.notebook_json(["x = 1"], parameters="upstream = None")
    cells = notebook["cells"]
    assert isinstance(cells, list)
    assert cells[0]["metadata"] == {"tags": ["parameters"]}
    assert cells[1]["source"] == "x = 1"
    assert json.loads(json.dumps(notebook))["metadata"]["kernelspec"]["name"] == "python3"
