"""The engine runs a step's notebook, magics included: they must not get in its way."""

import asyncio
import json
from pathlib import Path
from typing import Any

from magics.notebook_kernels import PIPELINE, SUMMARIZE

ApiCall = Any
MAGICS_CELL = """\
%load_ext jupyter_orchest
%orchest run --incoming
%orchest status
%orchest use quickstart/quickstart.orchest
%orchest params top=1
inputs = %orchest inputs
rows = inputs['clean_measurements']
print('inputs', len(rows) == len(orchest.get_inputs()['clean_measurements']), len(rows) > 0)
"""


async def test_a_notebook_with_magics_runs_unchanged_as_a_step(project: Path, api: ApiCall) -> None:
    notebook = json.loads((project / "summarize.ipynb").read_text())
    notebook["cells"][2]["source"] = MAGICS_CELL
    (project / "summarize.ipynb").write_text(json.dumps(notebook))
    before = (project / "quickstart.orchest").read_text()

    overrides = {"steps": {SUMMARIZE: {"top": 5}}}
    code, run = await api("POST", "runs", body={"pipeline": PIPELINE, "parameters": overrides})
    assert code == 201
    while run["state"] not in ("SUCCESS", "FAILURE", "ABORTED"):
        await asyncio.sleep(0.1)
        code, run = await api("GET", "runs", run["id"])
    assert run["state"] == "SUCCESS", [(s["title"], s["message"]) for s in run["steps"]]
    assert {s["title"]: s["state"] for s in run["steps"]}["Summarize"] == "COMPUTED"

    cell = json.loads((project / "summarize.ipynb").read_text())["cells"][2]
    printed = "".join("".join(output.get("text", "")) for output in cell["outputs"])
    assert printed.splitlines() == [
        "%orchest run: skipped, this notebook is running as a step of a pipeline run.",
        "%orchest status: skipped, this notebook is running as a step of a pipeline run.",
        "%orchest use: skipped, this notebook is running as a step of a pipeline run.",
        "%orchest params: not set, this notebook is running as a step of a run.",
        'this step: {"top": 5}',
        'pipeline: {"n_rows": 200}',
        "inputs True True",
    ]
    assert (project / "quickstart.orchest").read_text() == before
