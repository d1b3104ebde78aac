"""`%orchest` in a real kernel, talking to a real Jupyter server with the extension."""

import asyncio
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import AsyncKernelManager

from jupyter_orchest.sdk.magics import SERVER_TOKEN, SERVER_URL
from support import EXAMPLE_PROJECT

ApiCall = Any

PIPELINE = "quickstart/quickstart.orchest"
SUMMARIZE = "0c9b8a7d-6e5f-4d3c-8b2a-190817263544"


@dataclass
class Outcome:
    stdout: str = ""
    stderr: str = ""
    shown: list[str] = field(default_factory=list)
    """The text of what the cell displayed and returned."""

    @property
    def text(self) -> str:
        return self.stdout + "".join(self.shown)


class Kernel:
    """A kernel started as JupyterLab's server starts one for a notebook."""

    def __init__(self, manager: AsyncKernelManager) -> None:
        self.manager = manager
        self.client = manager.client()

    async def run(self, code: str) -> Outcome:
        request = self.client.execute(code)
        outcome = Outcome()
        while True:
            message = await self.client.get_iopub_msg(timeout=120)
            if message["parent_header"].get("msg_id") != request:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                if content["name"] == "stdout":
                    outcome.stdout += content["text"]
                else:
                    outcome.stderr += content["text"]
            elif kind in ("display_data", "update_display_data", "execute_result"):
                outcome.shown.append(content["data"].get("text/plain", ""))
            elif kind == "error":
                outcome.stderr += "\n".join(content["traceback"])
            elif kind == "status" and content["execution_state"] == "idle":
                return outcome


@pytest.fixture
def project(jp_root_dir: Path) -> Path:
    return Path(shutil.copytree(EXAMPLE_PROJECT, jp_root_dir / "quickstart"))


@pytest.fixture
def listening(jp_serverapp: Any, http_server_client: Any) -> None:
    """The test server answers HTTP requests from other processes (the kernels)."""


class Kernels:
    """Kernels started as JupyterLab's server starts one for a notebook (with the server's
    environment and the notebook's path), shut down on leaving."""

    def __init__(self) -> None:
        self.managers: list[AsyncKernelManager] = []

    async def __aenter__(self) -> "Kernels":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for manager in self.managers:
            await manager.shutdown_kernel(now=True)

    async def start(self, notebook: Path, **env: str) -> Kernel:
        manager = AsyncKernelManager(kernel_name="python3")
        kernel_env = {**os.environ, "JPY_SESSION_NAME": str(notebook), **env}
        await manager.start_kernel(env=kernel_env, cwd=str(notebook.parent))
        self.managers.append(manager)
        kernel = Kernel(manager)
        kernel.client.start_channels()
        await kernel.client.wait_for_ready(timeout=60)
        await kernel.run("%load_ext jupyter_orchest")
        return kernel


def test_the_extension_gives_kernels_the_servers_address_and_token(jp_serverapp: Any) -> None:
    assert os.environ[SERVER_URL] == jp_serverapp.connection_url
    assert os.environ[SERVER_TOKEN] == jp_serverapp.identity_provider.token


async def test_work_on_a_step_from_its_notebook(
    project: Path, listening: None, api: ApiCall
) -> None:
    async with Kernels() as kernels:
        await work_on_summarize(await kernels.start(project / "summarize.ipynb"), api)


async def work_on_summarize(kernel: Kernel, api: ApiCall) -> None:

    early = await kernel.run("inputs = %orchest inputs")
    assert 'incoming step "Clean"' in early.stderr
    assert "%orchest run --incoming" in early.stderr
    assert "Traceback" not in early.stderr

    ran = await kernel.run("%orchest run --incoming")
    assert "Run success" in ran.stdout, ran
    for title in ("Get data", "Clean", "Summarize"):
        assert title in ran.text
    assert "COMPUTED" in ran.shown[-1]

    loaded = await kernel.run(
        "inputs = %orchest inputs\nrows = inputs['clean_measurements']\n"
        "print(len(rows), sorted(rows[0]))"
    )
    count, keys = loaded.stdout.split(" ", 1)
    assert int(count) > 0 and "sensor" in keys and "value" in keys, loaded
    # The kernel now acts as the step: the SDK reads the step's parameters too.
    low = await kernel.run("import orchest\nprint(orchest.get_pipeline_param('n_rows'))")
    assert low.stdout.strip() == "200"

    status = await kernel.run("%orchest status")
    assert "Summarize" in status.text and "COMPUTED" in status.text

    shown = await kernel.run("%orchest params")
    assert "Summarize: {}" in shown.stdout and '"n_rows": 200' in shown.stdout
    changed = await kernel.run("%orchest params top=3 label=north")
    assert "Saved in quickstart/quickstart.orchest" in changed.stdout, changed
    code, pipeline = await api("GET", "pipelines", PIPELINE)
    assert code == 200 and pipeline["issues"] == []
    assert pipeline["definition"]["steps"][SUMMARIZE]["parameters"] == {"top": 3, "label": "north"}

    wrong = await kernel.run("%orchest params top")
    assert "is not KEY=VALUE" in wrong.stderr


async def test_a_notebook_that_is_no_step_or_a_step_of_several_pipelines(
    project: Path, listening: None
) -> None:
    async with Kernels() as kernels:
        await choose_among_pipelines(project, kernels)


async def choose_among_pipelines(project: Path, kernels: Kernels) -> None:
    (project / "scratch.ipynb").write_text((project / "summarize.ipynb").read_text())
    scratch = await kernels.start(project / "scratch.ipynb")
    alone = await scratch.run("%orchest status")
    assert "not a step of any pipeline" in alone.stderr

    copy = json.loads((project / "quickstart.orchest").read_text())
    copy["uuid"], copy["name"] = "second-pipeline", "second"
    (project / "second.orchest").write_text(json.dumps(copy))
    kernel = await kernels.start(project / "summarize.ipynb")
    several = await kernel.run("%orchest params")
    assert "several pipelines (quickstart/quickstart.orchest, quickstart/second.orchest)" in (
        several.stderr
    )
    chosen = await kernel.run("%orchest use quickstart/second.orchest")
    assert "step 'Summarize' of quickstart/second.orchest" in chosen.stdout
    assert "Summarize: {}" in (await kernel.run("%orchest params")).stdout

    usage = await kernel.run("%orchest fly")
    assert "invalid choice" in usage.stderr and "inputs = %orchest inputs" in usage.stderr


async def test_inside_a_run_the_notebook_runs_unchanged(project: Path, api: ApiCall) -> None:
    """The engine runs the step's notebook with its magics: `run` does nothing there and
    `inputs` gives the run's own inputs."""
    notebook = json.loads((project / "summarize.ipynb").read_text())
    notebook["cells"][2]["source"] = (
        "%load_ext jupyter_orchest\n%orchest run --all\n"
        "inputs = %orchest inputs\nrows = inputs['clean_measurements']\nprint('inputs', len(rows))"
    )
    (project / "summarize.ipynb").write_text(json.dumps(notebook))
    code, run = await api("POST", "runs", body={"pipeline": PIPELINE})
    assert code == 201
    while run["state"] not in ("SUCCESS", "FAILURE", "ABORTED"):
        await asyncio.sleep(0.1)
        code, run = await api("GET", "runs", run["id"])
    assert run["state"] == "SUCCESS", [(s["title"], s["message"]) for s in run["steps"]]
    cell = json.loads((project / "summarize.ipynb").read_text())["cells"][2]
    printed = "".join("".join(output.get("text", "")) for output in cell["outputs"])
    assert "skipped, this notebook is running as a step" in printed
    assert "inputs " in printed


async def test_an_unreachable_server_is_said_plainly(project: Path, listening: None) -> None:
    async with Kernels() as kernels:
        unreachable = {SERVER_URL: "http://127.0.0.1:9/"}
        kernel = await kernels.start(project / "summarize.ipynb", **unreachable)
        outcome = await kernel.run("%orchest status")
    assert "Cannot reach the Jupyter server at http://127.0.0.1:9/" in outcome.stderr
    assert "Traceback" not in outcome.stderr
