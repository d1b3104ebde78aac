"""A user works on a step from its notebook, in a kernel JupyterLab's server started for it."""

import asyncio
import json
from pathlib import Path
from typing import Any

from magics.notebook_kernels import CLEAN, PIPELINE, SUMMARIZE, Kernel, Kernels, clean_measurements

ApiCall = Any


async def test_load_inputs_run_the_step_see_states_and_set_parameters(
    project: Path, kernels: Kernels, api: ApiCall
) -> None:
    kernel, _ = await kernels.open("quickstart/summarize.ipynb")
    assert (await kernel.run("%load_ext jupyter_orchest")).status == "ok"

    early = await kernel.run("inputs = %orchest inputs\nprint('not reached')")
    assert early.error.startswith("UsageError: "), early
    assert 'incoming step "Clean"' in early.error
    assert "`%orchest run --incoming`" in early.error
    assert "not reached" not in early.stdout and "Traceback" not in early.stderr

    ran = await kernel.run("%orchest run --incoming")
    assert ran.status == "ok", ran
    final = ran.shown[-1]
    for title in ("Get data", "Clean", "Summarize"):
        assert any(line.startswith(title) and "COMPUTED" in line for line in final.splitlines())
    assert "Report" not in final  # not an ancestor
    assert "<table>" in ran.html[-1] and "<td>COMPUTED</td>" in ran.html[-1]
    assert ": SUCCESS in " in ran.stdout and "(3 computed)" in ran.stdout, ran.stdout

    loaded = await kernel.run("inputs = %orchest inputs")
    assert loaded.status == "ok", loaded
    assert await kernel.value("sorted(inputs)") == ["clean_measurements", "unnamed"]
    assert await kernel.value("inputs['clean_measurements']") == clean_measurements()
    # The kernel now acts as the step for the SDK, as in a run.
    assert await kernel.value("__import__('orchest').get_inputs() == inputs") is True
    assert await kernel.value("__import__('orchest').get_pipeline_param('n_rows')") == 200

    alone = await kernel.run("%orchest run")  # this step only: unchanged, so from the cache
    assert [line.split()[0] for line in alone.shown[-1].splitlines()[2:]] == ["Summarize"]
    assert "(1 from the cache)" in alone.stdout, alone.stdout
    everything = await kernel.run("%orchest run --all")
    assert "(1 computed, 3 from the cache)" in everything.stdout, everything.stdout
    cached = {
        line.split()[0]: line.endswith("yes") for line in everything.shown[-1].splitlines()[2:]
    }
    assert cached == {"Get": True, "Clean": True, "Summarize": True, "Report": False}

    status = await kernel.run("%orchest status")
    rows = {line.split("  ")[0]: line for line in status.shown[-1].splitlines()[2:]}
    assert list(rows) == ["Get data", "Clean", "Summarize (this notebook)", "Report"], rows
    assert "COMPUTED" in rows["Clean"] and "yes" in rows["Clean"]
    assert "COMPUTED" in rows["Report"] and "yes" not in rows["Report"]
    assert "<th>when</th>" in status.html[-1]

    await check_parameters(kernel, api)


async def check_parameters(kernel: Kernel, api: ApiCall) -> None:
    shown = await kernel.run("%orchest params")
    assert shown.stdout.splitlines() == ["Summarize: {}", 'pipeline: {"n_rows": 200}']

    changed = await kernel.run('%orchest params top=3 label=north weights=[1,2] "note=a b"')
    assert changed.stdout.startswith(f"Saved in {PIPELINE}.\n"), changed
    code, pipeline = await api("GET", "pipelines", PIPELINE)
    assert code == 200 and pipeline["issues"] == []
    assert pipeline["definition"]["steps"][SUMMARIZE]["parameters"] == {
        "top": 3,
        "label": "north",
        "weights": [1, 2],
        "note": "a b",
    }
    assert await kernel.value("__import__('orchest').get_step_param('top')") == 3

    wrong = await kernel.run("%orchest params top")
    assert wrong.error == "UsageError: 'top' is not KEY=VALUE (e.g. alpha=0.2 or name=abc)."
    # The server refuses what would make the pipeline invalid; the file stays as it was.
    bad = await kernel.run("%orchest params nan=NaN")
    assert bad.status == "error" and "NaN" not in json.dumps(pipeline)
    _, after = await api("GET", "pipelines", PIPELINE)
    assert after["definition"] == pipeline["definition"]


async def test_the_magics_follow_a_renamed_notebook(
    project: Path, kernels: Kernels, sessions: Any, jp_fetch: Any
) -> None:
    kernel, session = await kernels.open("quickstart/summarize.ipynb")
    await kernel.run("%load_ext jupyter_orchest")
    assert (await kernel.run("%orchest params")).stdout.startswith("Summarize: ")

    # What JupyterLab does on a rename: the file, then the session's path.
    renamed = "quickstart/renamed.ipynb"
    await jp_fetch(
        "api",
        "contents",
        "quickstart/summarize.ipynb",
        method="PATCH",
        body=json.dumps({"path": renamed}),
    )
    code, _ = await sessions("PATCH", session["id"], body={"path": renamed})
    assert code == 200
    moved = await kernel.run("%orchest params")
    assert moved.error.startswith("UsageError: This notebook is not a step of any valid pipeline")


async def test_a_failed_step_shows_its_log_and_the_run_says_so(
    project: Path, kernels: Kernels
) -> None:
    (project / "clean.py").write_text(
        "print('checking measurements')\nraise ValueError('no plausible measurements')\n"
    )
    kernel, _ = await kernels.open("quickstart/summarize.ipynb")
    await kernel.run("%load_ext jupyter_orchest")
    ran = await kernel.run("%orchest run --incoming")
    assert ran.status == "ok"
    assert ": FAILURE in " in ran.stdout and "1 failure" in ran.stdout, ran.stdout
    assert "Clean failed:" in ran.stdout
    assert "checking measurements" in ran.stdout
    assert "ValueError: no plausible measurements" in ran.stdout
    final = {line.split()[0]: line for line in ran.shown[-1].splitlines()[2:]}
    assert "FAILURE" in final["Clean"] and "ABORTED" in final["Summarize"]


async def test_a_busy_pipeline_and_interrupting_a_run(
    project: Path, kernels: Kernels, api: ApiCall, jp_serverapp: Any
) -> None:
    notebook = json.loads((project / "get-data.ipynb").read_text())
    notebook["cells"][1]["source"] = "import time\ntime.sleep(600)"
    (project / "get-data.ipynb").write_text(json.dumps(notebook))
    kernel, session = await kernels.open("quickstart/summarize.ipynb")
    await kernel.run("%load_ext jupyter_orchest")

    code, other = await api("POST", "runs", body={"pipeline": PIPELINE})
    assert code == 201
    busy = await kernel.run("%orchest run")
    assert busy.error == (
        f"UsageError: This pipeline is already running (run {other['id']}): wait for it or "
        "cancel it first."
    )
    await api("POST", "runs", other["id"], "cancel")
    await finished(api, other["id"])

    running = asyncio.create_task(kernel.run("%orchest run --incoming"))
    run_id = await first_step_running(api)
    await jp_serverapp.kernel_manager.interrupt_kernel(session["kernel"]["id"])
    interrupted = await running
    assert f"Interrupted: run {run_id} is cancelled." in interrupted.stdout, interrupted
    assert f"Run {run_id}: ABORTED" in interrupted.stdout
    assert (await finished(api, run_id))["state"] == "ABORTED"


async def finished(api: ApiCall, run_id: str) -> dict[str, Any]:
    while True:
        _, run = await api("GET", "runs", run_id)
        if run["state"] in ("SUCCESS", "FAILURE", "ABORTED"):
            return dict(run)
        await asyncio.sleep(0.1)


async def first_step_running(api: ApiCall) -> str:
    """The id of the newest run, once its first step runs."""
    while True:
        _, runs = await api("GET", "runs", params={"pipeline": PIPELINE})
        newest = runs["runs"][0] if runs["runs"] else None
        if newest and newest["state"] == "STARTED" and newest["steps"][0]["state"] == "RUNNING":
            assert [s["uuid"] for s in newest["steps"]][1] == CLEAN
            return str(newest["id"])
        await asyncio.sleep(0.1)
