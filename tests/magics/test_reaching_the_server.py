"""How kernels learn the server's address and token, and what the magics say without them."""

import asyncio
import os
from pathlib import Path
from typing import Any

from magics.notebook_kernels import Kernels

from jupyter_orchest.sdk.server_link import SERVER_TOKEN, SERVER_URL, LinkError, ServerAPI
from jupyter_orchest.services.kernel_link import kernel_url

NO_TRACEBACK = "Traceback"


async def test_kernels_inherit_a_url_and_token_that_reach_the_server(
    jp_serverapp: Any, listening: None
) -> None:
    url, token = os.environ[SERVER_URL], os.environ[SERVER_TOKEN]
    assert url == f"http://{jp_serverapp.ip}:{jp_serverapp.port}{jp_serverapp.base_url}"
    assert token == jp_serverapp.identity_provider.token
    status = await asyncio.to_thread(ServerAPI(url, token).call, "GET", "api/status")
    assert "started" in status
    refused = ServerAPI(url, "not-the-token")
    message = await asyncio.to_thread(failure, refused, "GET", "api/status")
    assert message.startswith("The Jupyter server refused this kernel's credentials (403)")


async def test_the_url_follows_the_port_the_server_binds(jp_serverapp: Any) -> None:
    # Extensions initialize before the server binds: a busy port (or port 0) changes it then.
    bound = jp_serverapp.port
    try:
        jp_serverapp.port = bound + 1
        assert os.environ[SERVER_URL] == kernel_url(jp_serverapp)
        assert f":{bound + 1}/" in os.environ[SERVER_URL]
    finally:
        jp_serverapp.port = bound
    assert f":{bound}/" in os.environ[SERVER_URL]


async def test_a_server_on_every_address_is_reached_on_localhost(jp_serverapp: Any) -> None:
    ip = jp_serverapp.ip
    try:
        for wildcard in ("0.0.0.0", "::", ""):
            jp_serverapp.ip = wildcard
            assert kernel_url(jp_serverapp).startswith("http://localhost:")
        jp_serverapp.ip = "::1"
        assert kernel_url(jp_serverapp).startswith("http://[::1]:")
    finally:
        jp_serverapp.ip = ip


async def test_what_the_magics_say_when_they_cannot_reach_the_server(
    project: Path, kernels: Kernels
) -> None:
    notebook = project / "summarize.ipynb"
    unreachable = await kernels.start(notebook, **{SERVER_URL: "http://127.0.0.1:9/"})
    await unreachable.run("%load_ext jupyter_orchest")
    outcome = await unreachable.run("%orchest status")
    assert outcome.error.startswith(
        "UsageError: Cannot reach the Jupyter server at http://127.0.0.1:9/ ("
    ), outcome
    assert "restart this kernel from JupyterLab" in outcome.error
    assert NO_TRACEBACK not in outcome.stderr

    unknown = await kernels.start(notebook, **{SERVER_URL: ""})
    await unknown.run("%load_ext jupyter_orchest")
    outcome = await unknown.run("inputs = %orchest inputs")
    assert outcome.error == (
        "UsageError: This kernel does not know the Jupyter server's address "
        f"({SERVER_URL} is not set). The magics work in kernels that JupyterLab starts with "
        "the jupyter-orchest server extension enabled: open the notebook in JupyterLab and "
        "restart its kernel (Kernel > Restart Kernel)."
    )

    socket = await kernels.start(notebook, **{SERVER_URL: "http+unix://%2Ftmp%2Fjupyter.sock/"})
    await socket.run("%load_ext jupyter_orchest")
    outcome = await socket.run("%orchest run")
    assert "start JupyterLab on a TCP port to use them" in outcome.error

    stale = await kernels.start(notebook, **{SERVER_TOKEN: "an-old-token"})
    await stale.run("%load_ext jupyter_orchest")
    outcome = await stale.run("%orchest params")
    assert outcome.error.startswith(
        "UsageError: The Jupyter server refused this kernel's credentials (403): restart"
    )


async def test_a_kernel_that_knows_no_notebook_says_so(project: Path, kernels: Kernels) -> None:
    kernel = await kernels.start(None)
    await kernel.run("%load_ext jupyter_orchest")
    outcome = await kernel.run("%orchest params")
    assert outcome.error.startswith(
        "UsageError: This kernel does not know which notebook it belongs to"
    )


async def test_a_kernel_started_for_a_notebook_outside_a_session(
    project: Path, kernels: Kernels
) -> None:
    """No session of the server holds the kernel: the path it was started with is used."""
    kernel = await kernels.start(project / "summarize.ipynb")
    await kernel.run("%load_ext jupyter_orchest")
    assert (await kernel.run("%orchest params")).stdout.startswith("Summarize: {}")


def failure(api: ServerAPI, method: str, path: str) -> str:
    try:
        api.call(method, path)
    except LinkError as error:
        return str(error)
    raise AssertionError("the call succeeded")
