"""How a kernel reaches the Jupyter server that started it, for the `%orchest` magics.

The server extension puts the server's URL and token in the environment of the kernels it
starts (kernels inherit the server's environment); the Docker kernel provisioner passes them
into the kernel's container, with the host folders it mounts (see `CONTAINER_PATHS`), so that
paths the server gives can be translated into paths the kernel sees, and back. Standard
library only: kernels of any environment import this.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import urllib.error

SERVER_URL = "JUPYTER_ORCHEST_SERVER_URL"
SERVER_TOKEN = "JUPYTER_ORCHEST_SERVER_TOKEN"
CONTAINER_PATHS = "JUPYTER_ORCHEST_CONTAINER_PATHS"
"""In a kernel's container: JSON `[[host folder, container folder], ...]` of its mounts."""
SESSION_NAME = "JPY_SESSION_NAME"
"""jupyter_server's: the notebook's absolute path, for kernels it starts for a notebook."""
KERNEL_ARGUMENT = "--ext=jupyter_orchest"
"""Added to the command lines of environments' kernels: `%orchest` is there without
`%load_ext` (an extension that fails to load only warns; the kernel starts)."""
TIMEOUT_SECONDS = 60


class LinkError(Exception):
    """Something the user must fix, said in words."""


class ServerAPI:
    """The Jupyter server's REST API, with the credentials the server gave this kernel."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url.rstrip("/") + "/", token

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ServerAPI:
        env = os.environ if environ is None else environ
        url = env.get(SERVER_URL)
        if not url:
            raise LinkError(
                f"This kernel does not know the Jupyter server's address ({SERVER_URL} is "
                "not set). The magics work in kernels that JupyterLab starts with the "
                "jupyter-orchest server extension enabled: open the notebook in JupyterLab "
                "and restart its kernel (Kernel > Restart Kernel)."
            )
        if not url.startswith(("http://", "https://")):
            raise LinkError(
                f"The magics reach the Jupyter server over HTTP, and this server is at {url} "
                "(a Unix socket): start JupyterLab on a TCP port to use them."
            )
        return cls(url, env.get(SERVER_TOKEN, ""))

    def orchest(self, method: str, path: str, body: Any = None, **query: str) -> Any:
        """A call to the extension's API, under `orchest/api/`."""
        return self.call(method, "orchest/api/" + path, body, **query)

    def call(self, method: str, path: str, body: Any = None, **query: str) -> Any:
        """The decoded reply (JSON or text) of a call to `path` under the server's URL;
        LinkError, with the server's own message when it gives one, for any failure."""
        # Imported here: every environment's kernel loads this module as it starts.
        import urllib.error
        import urllib.parse
        import urllib.request

        url = self.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        if self.token:
            request.add_header("Authorization", f"token {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                text = response.read().decode("utf-8")
                kind = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            raise LinkError(_error_message(error)) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise LinkError(
                f"Cannot reach the Jupyter server at {self.url} ({reason}). If the server "
                "was restarted, restart this kernel from JupyterLab so that it learns the "
                "server's current address."
            ) from None
        try:
            return json.loads(text) if "json" in kind and text else text
        except ValueError:
            raise LinkError(f"The Jupyter server's reply to {path} is not valid JSON.") from None


def _error_message(error: urllib.error.HTTPError) -> str:
    if error.code in (401, 403):
        return (
            f"The Jupyter server refused this kernel's credentials ({error.code}): restart the "
            "kernel from JupyterLab. The magics need the server's token authentication (a "
            "server with a password only and no token gives kernels no credentials)."
        )
    try:
        return str(json.loads(error.read().decode("utf-8"))["message"])
    except (ValueError, KeyError, TypeError):
        return f"The Jupyter server answered {error.code} {error.reason}."


class ContainerPaths:
    """Host folders and where this kernel sees them: the mounts of a Docker kernel's
    container, or nothing (a local kernel sees the host's paths)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ContainerPaths:
        env = os.environ if environ is None else environ
        try:
            pairs = json.loads(env.get(CONTAINER_PATHS) or "[]")
            return cls([(str(host), str(inside)) for host, inside in pairs])
        except (ValueError, TypeError):
            raise LinkError(
                f"{CONTAINER_PATHS} is not a JSON list of [host folder, container folder] "
                "pairs: restart the kernel from JupyterLab."
            ) from None

    @staticmethod
    def encode(pairs: list[tuple[str, str]]) -> str:
        return json.dumps([list(pair) for pair in pairs])

    def to_kernel(self, host_path: str) -> str:
        """What this kernel sees of a host path (unchanged outside the mounts)."""
        return _translate(host_path, self.pairs)

    def to_host(self, kernel_path: str) -> str:
        """The host path of a path this kernel sees (unchanged outside the mounts)."""
        return _translate(kernel_path, [(inside, host) for host, inside in self.pairs])


def _translate(path: str, pairs: list[tuple[str, str]]) -> str:
    # The most specific folder first: a data folder inside the project has a mount of its own.
    for source, target in sorted(pairs, key=lambda pair: -len(PurePosixPath(pair[0]).parts)):
        relative = _relative_to(PurePosixPath(path), PurePosixPath(source))
        if relative is not None:
            return str(PurePosixPath(target) / relative)
    return path


def _relative_to(path: PurePosixPath, folder: PurePosixPath) -> PurePosixPath | None:
    return path.relative_to(folder) if path == folder or path.is_relative_to(folder) else None


def kernel_id() -> str | None:
    """This kernel's id as the server knows it (its connection file is `kernel-<id>.json`),
    or None outside a kernel the server started."""
    try:
        from ipykernel.connect import get_connection_file
    except ImportError:
        return None
    try:
        name = os.path.basename(get_connection_file())
    except (RuntimeError, AttributeError):  # no kernel application (e.g. plain IPython)
        return None
    if name.startswith("kernel-") and name.endswith(".json"):
        return name[len("kernel-") : -len(".json")]
    return None


def notebook_path(api: ServerAPI, session_name: str | None) -> str:
    """The path of this kernel's notebook for the server: the path of the server's session
    that holds this kernel (it follows renames), else the path the kernel was started with
    (`session_name`, translated out of a container)."""
    own_id = kernel_id()
    if own_id is not None:
        for session in api.call("GET", "api/sessions"):
            if (session.get("kernel") or {}).get("id") == own_id and session.get("path"):
                return str(session["path"])
    if session_name:
        return ContainerPaths.from_environment().to_host(session_name)
    raise LinkError(
        "This kernel does not know which notebook it belongs to: it was not started by "
        "JupyterLab for a notebook. Open the step's notebook in JupyterLab and use the magics "
        "in its kernel."
    )
