"""Jupyter server configuration for the integration tests.

Never use this configuration in production: it opens the server without a token and
exposes JupyterLab's JavaScript objects through the global window variable.
"""

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821 - `c` is injected by the config loader

# The REST API the lab plugin talks to, whether or not the package's own
# `jupyter_server_config.d` entry was installed.
c.ServerApp.jpserver_extensions.update({"jupyter_orchest": True})  # noqa: F821

# CI and the development machines run everything as root.
c.ServerApp.allow_root = True  # noqa: F821

# Steps run with the server's own kernels: the browser tests are about the UI, not about
# building environments (which needs Docker images or package downloads).
c.OrchestApp.environment_backend = "none"  # noqa: F821
