"""jupyter-orchest: pipelines of notebooks and scripts, inside JupyterLab."""

from typing import Any

try:
    from ._version import __version__
except ImportError:  # running from a source tree that was never built
    __version__ = "0.0.0.dev0"

__all__ = ["__version__"]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-orchest"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    # Imported here so that `import jupyter_orchest` (e.g. from inside a step)
    # never pays for the Jupyter server stack.
    from .app import OrchestApp

    return [{"module": "jupyter_orchest", "app": OrchestApp}]


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext jupyter_orchest`: the `%orchest` magic (see `jupyter_orchest.sdk.magics`)."""
    from .sdk.magics import load

    load(ipython)
