"""JupyterLab kernels in an environment's image: the kernelspec the backend writes, started
by jupyter_client's kernel manager through the provisioner."""

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from docker import DockerClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager

from jupyter_orchest.environments.docker import labels
from jupyter_orchest.environments.docker.provisioner import PROVISIONER_NAME

Built = Any  # the session's build: see conftest.Built
PROOF = """\
import os
print(os.path.exists('/.dockerenv'), os.getcwd(), os.getuid())
print(open('/project-dir/note.txt').read(), end='')
"""


async def test_a_kernel_from_the_kernelspec_runs_in_the_image(
    built: Built, engine: DockerClient, tmp_path: Path, provisioner_registered: None
) -> None:
    spec = built.backend.kernelspec(built.built, built.environment)
    assert spec["metadata"]["kernel_provisioner"]["provisioner_name"] == PROVISIONER_NAME
    kernel_dir = tmp_path / "kernels" / built.environment.kernel_name
    kernel_dir.mkdir(parents=True)
    (kernel_dir / "kernel.json").write_text(json.dumps(spec))
    folder = built.project / "notebooks"
    folder.mkdir(exist_ok=True)
    manager = AsyncKernelManager(
        kernel_name=built.environment.kernel_name,
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")]),
    )
    await manager.start_kernel(cwd=str(folder))
    client = manager.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        kernel_id = manager.kernel_id
        assert labels.containers_labelled(engine, labels.GROUP, str(kernel_id))

        printed = await execute(client, PROOF)
        assert printed == f"True /project-dir/notebooks {os.getuid()}\nthe project was mounted\n"

        # An interrupt reaches the kernel through the container's init process.
        waiting = client.execute("import time; time.sleep(120)")
        await asyncio.sleep(1)
        await manager.interrupt_kernel()
        reply = await reply_to(client, waiting)
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        assert await manager.is_alive()
    finally:
        client.stop_channels()
        await manager.shutdown_kernel()
    assert not labels.containers_labelled(engine, labels.GROUP, str(kernel_id))


async def execute(client: Any, code: str) -> str:
    printed: list[str] = []

    def output(message: dict[str, Any]) -> None:
        if message["header"]["msg_type"] == "stream":
            printed.append(message["content"]["text"])

    reply = await client.execute_interactive(code, output_hook=output, timeout=60)
    assert reply["content"]["status"] == "ok", reply["content"]
    return "".join(printed)


async def reply_to(client: Any, request: str) -> dict[str, Any]:
    while True:
        reply: dict[str, Any] = await client.get_shell_msg(timeout=30)
        if reply["parent_header"].get("msg_id") == request:
            return reply
