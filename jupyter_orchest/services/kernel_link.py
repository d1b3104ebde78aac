"""What kernels started by this server inherit so that `%orchest` can call its API: the
server's URL and token (see `sdk.server_link`)."""

import os
from typing import Any

from ..sdk.server_link import SERVER_TOKEN, SERVER_URL

WILDCARD_ADDRESSES = ("", "0.0.0.0", "::")


def kernel_url(serverapp: Any) -> str:
    """The server's URL as a kernel on this host (or in a container on the host's network)
    reaches it: a server listening on every address is reached on `localhost`."""
    if serverapp.sock:
        return str(serverapp.connection_url)  # http+unix: the magics say they cannot use it
    ip = str(serverapp.ip)
    host = "localhost" if ip in WILDCARD_ADDRESSES else f"[{ip}]" if ":" in ip else ip
    scheme = "https" if serverapp.certfile else "http"
    return f"{scheme}://{host}:{serverapp.port}{serverapp.base_url}"


def give_kernels_the_server(serverapp: Any) -> None:
    """Put the server's URL and token in this process's environment, which the kernels it
    starts inherit. Extensions initialize before the server binds its port, which may then
    change (a busy port, or port 0): the URL follows it."""

    def publish(_change: object = None) -> None:
        os.environ[SERVER_URL] = kernel_url(serverapp)
        os.environ[SERVER_TOKEN] = serverapp.identity_provider.token or ""

    publish()
    serverapp.observe(publish, names=["port"])
