"""Real kernels for the magics' tests: started as JupyterLab starts them (a session of the
server's for a notebook), or by hand; cells run in them as a notebook runs them."""

import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager

PIPELINE = "quickstart/quickstart.orchest"
GET_DATA = "6f0b7c1e-2a4d-4f7e-9b1a-1c2d3e4f5a60"
CLEAN = "a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
SUMMARIZE = "0c9b8a7d-6e5f-4d3c-8b2a-190817263544"
REPLY_TIMEOUT = 180


def clean_measurements() -> list[dict[str, Any]]:
    """What the example's Get data and Clean steps compute, computed here independently."""
    random.seed(42)
    rows = [{"sensor": f"s{i % 4}", "value": round(random.gauss(20, 5), 2)} for i in range(200)]
    return [row for row in rows if 5 <= row["value"] <= 35]


@dataclass
class Outcome:
    """What a cell did: its streams, what it displayed (text and HTML) and its reply."""

    stdout: str = ""
    stderr: str = ""
    shown: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    status: str = ""
    error: str = ""
    """`ename: evalue` of a failed cell."""

    @property
    def text(self) -> str:
        return self.stdout + "".join(self.shown)


class Kernel:
    def __init__(self, client: AsyncKernelClient) -> None:
        self.client = client

    async def run(self, code: str) -> Outcome:
        request = self.client.execute(code)
        outcome = Outcome()
        while True:
            message = await self.client.get_iopub_msg(timeout=REPLY_TIMEOUT)
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
                outcome.html.append(content["data"].get("text/html", ""))
            elif kind == "error":
                outcome.stderr += "\n".join(content["traceback"])
            elif kind == "status" and content["execution_state"] == "idle":
                break
        while True:
            reply = await self.client.get_shell_msg(timeout=REPLY_TIMEOUT)
            if reply["parent_header"].get("msg_id") == request:
                outcome.status = reply["content"]["status"]
                if outcome.status == "error":
                    outcome.error = f"{reply['content']['ename']}: {reply['content']['evalue']}"
                return outcome

    async def value(self, expression: str) -> Any:
        """An expression's value in the kernel, through JSON."""
        outcome = await self.run(f"import json as _json\nprint(_json.dumps({expression}))")
        assert outcome.status == "ok", outcome
        return json.loads(outcome.stdout)


class Kernels:
    """Kernels for the test, shut down at its end."""

    def __init__(self, api: Any, serverapp: Any, tmp_path: Path) -> None:
        self.api, self.serverapp, self.tmp_path = api, serverapp, tmp_path
        self.sessions: list[str] = []
        self.managers: list[AsyncKernelManager] = []
        self.clients: list[AsyncKernelClient] = []

    async def open(self, notebook: str) -> tuple[Kernel, dict[str, Any]]:
        """A kernel for `notebook` (a path from the server's root) started as JupyterLab
        starts one when it opens the notebook; also the server's session."""
        code, session = await self.api(
            "POST",
            body={
                "path": notebook,
                "name": Path(notebook).name,
                "type": "notebook",
                "kernel": {"name": "python3"},
            },
        )
        assert code == 201, session
        self.sessions.append(session["id"])
        manager = self.serverapp.kernel_manager.get_kernel(session["kernel"]["id"])
        client = AsyncKernelClient()
        client.load_connection_file(manager.connection_file)
        return await self._ready(client), session

    async def start(
        self, notebook: Path | None, spec: dict[str, Any] | None = None, **env: str
    ) -> Kernel:
        """A kernel started by hand with this process's environment (the server's), and
        with `notebook` as the server would give it; of the kernelspec `spec` if given."""
        manager = AsyncKernelManager(kernel_name="python3")
        if spec is not None:
            name = f"custom{len(self.managers)}"
            (self.tmp_path / "kernels" / name).mkdir(parents=True)
            (self.tmp_path / "kernels" / name / "kernel.json").write_text(json.dumps(spec))
            kernelspecs = KernelSpecManager(kernel_dirs=[str(self.tmp_path / "kernels")])
            manager = AsyncKernelManager(kernel_name=name, kernel_spec_manager=kernelspecs)
        kernel_env = {**os.environ, **env}
        if notebook is not None:
            kernel_env["JPY_SESSION_NAME"] = str(notebook)
        cwd = notebook.parent if notebook is not None else self.tmp_path
        await manager.start_kernel(env=kernel_env, cwd=str(cwd))
        self.managers.append(manager)
        return await self._ready(manager.client())

    async def _ready(self, client: AsyncKernelClient) -> Kernel:
        self.clients.append(client)
        client.start_channels()
        await client.wait_for_ready(timeout=60)
        return Kernel(client)

    async def close(self) -> None:
        for client in self.clients:
            client.stop_channels()
        for session in self.sessions:
            await self.api("DELETE", session)
        for manager in self.managers:
            await manager.shutdown_kernel(now=True)
