"""Which step a notebook is: none, one of several pipelines, or several steps of one."""

import json
from pathlib import Path

from magics.notebook_kernels import Kernels

NOT_A_STEP = (
    "UsageError: This notebook is not a step of any valid pipeline under the server's root: "
    "add it to a pipeline"
)


async def test_a_notebook_that_is_no_step_says_so(project: Path, kernels: Kernels) -> None:
    (project / "scratch.ipynb").write_text((project / "summarize.ipynb").read_text())
    kernel, _ = await kernels.open("quickstart/scratch.ipynb")
    await kernel.run("%load_ext jupyter_orchest")
    for command in ("inputs", "run", "status", "params", "params a=1"):
        outcome = await kernel.run(f"%orchest {command}")
        assert outcome.error.startswith(NOT_A_STEP), (command, outcome)
        assert "Traceback" not in outcome.stderr
    assert (await kernel.run("%orchest use")).stdout == (
        "This notebook is not a step of any pipeline.\n"
    )


async def test_a_step_of_several_pipelines_is_chosen(project: Path, kernels: Kernels) -> None:
    copy = json.loads((project / "quickstart.orchest").read_text())
    copy["uuid"], copy["name"] = "second-pipeline", "second"
    copy["parameters"] = {"n_rows": 7}
    (project / "second.orchest").write_text(json.dumps(copy))
    kernel, _ = await kernels.open("quickstart/summarize.ipynb")
    await kernel.run("%load_ext jupyter_orchest")

    several = await kernel.run("%orchest params")
    assert several.error == (
        "UsageError: This notebook is a step of several pipelines (or several steps of one). "
        "Choose one with `%orchest use PIPELINE [STEP]` (remembered by this kernel) or with "
        "`--pipeline PIPELINE [--step STEP]` on a command:\n"
        "  quickstart/quickstart.orchest  Summarize\n"
        "  quickstart/second.orchest  Summarize"
    )
    listed = await kernel.run("%orchest use")
    assert "quickstart/second.orchest  Summarize" in listed.stdout

    once = await kernel.run("%orchest params --pipeline quickstart/second.orchest")
    assert once.stdout.splitlines()[1] == 'pipeline: {"n_rows": 7}'
    assert (await kernel.run("%orchest params")).status == "error"  # not remembered

    chosen = await kernel.run("%orchest use quickstart/second.orchest")
    assert chosen.stdout == "This notebook is step 'Summarize' of quickstart/second.orchest.\n"
    assert 'pipeline: {"n_rows": 7}' in (await kernel.run("%orchest params")).stdout
    other = await kernel.run("%orchest params --pipeline quickstart/quickstart.orchest")
    assert 'pipeline: {"n_rows": 200}' in other.stdout

    wrong = await kernel.run("%orchest use quickstart/third.orchest")
    assert wrong.error.startswith("UsageError: This notebook is not the step quickstart/third")
    assert "quickstart/quickstart.orchest  Summarize" in wrong.error
    # A refused choice leaves the earlier one.
    assert 'pipeline: {"n_rows": 7}' in (await kernel.run("%orchest params")).stdout


async def test_a_notebook_that_is_two_steps_of_one_pipeline(
    project: Path, kernels: Kernels
) -> None:
    definition = json.loads((project / "quickstart.orchest").read_text())
    twin = dict(definition["steps"]["0c9b8a7d-6e5f-4d3c-8b2a-190817263544"])
    twin.update(uuid="twin-step", title="Twin", parameters={"side": "left"})
    definition["steps"]["twin-step"] = twin
    (project / "quickstart.orchest").write_text(json.dumps(definition))
    kernel, _ = await kernels.open("quickstart/summarize.ipynb")
    await kernel.run("%load_ext jupyter_orchest")

    both = await kernel.run("%orchest params")
    assert "quickstart/quickstart.orchest  Summarize\n" in both.error
    assert both.error.endswith("quickstart/quickstart.orchest  Twin")
    by_title = await kernel.run("%orchest params --step Twin")
    assert by_title.stdout.startswith('Twin: {"side": "left"}\n')
    chosen = await kernel.run("%orchest use quickstart/quickstart.orchest twin-step")
    assert chosen.stdout == "This notebook is step 'Twin' of quickstart/quickstart.orchest.\n"


async def test_usage(project: Path, kernels: Kernels) -> None:
    kernel, _ = await kernels.open("quickstart/summarize.ipynb")
    await kernel.run("%load_ext jupyter_orchest")
    for line in ("%orchest", "%orchest --help", "%orchest run -h", "%orchest help"):
        usage = await kernel.run(line)
        assert usage.status == "ok" and usage.stdout.startswith("Usage:\n"), line
        assert "inputs = %orchest inputs" in usage.stdout
    unknown = await kernel.run("%orchest fly")
    assert unknown.error.startswith("UsageError: argument command: invalid choice: 'fly'")
    assert "Usage:" in unknown.error
    both = await kernel.run("%orchest run --all --incoming")
    assert "not allowed with argument" in both.error
    quotes = await kernel.run('%orchest params "a=1')
    assert quotes.error == "UsageError: No closing quotation: check the quotes."
