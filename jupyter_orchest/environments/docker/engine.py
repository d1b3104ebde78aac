"""Reaching the Docker engine: a client as Docker's own tools configure it (`DOCKER_HOST`,
`DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`), and a clear message when no engine answers."""

import os
from collections.abc import Callable
from typing import Any, cast

import docker
import requests
from docker import DockerClient
from docker.errors import DockerException, ImageNotFound, NotFound

from ..model import BackendUnavailable

CHECK_TIMEOUT = 5.0
"""Seconds an engine gets to answer a ping."""
DEFAULT_SOCKET = "/var/run/docker.sock"

EngineError = (DockerException, requests.RequestException, OSError)
"""What talking to an engine that is missing, stopped or refusing raises."""


def connect(timeout: float | None = None) -> DockerClient:
    """A client for the engine the environment names. Connecting is lazy: nothing is
    contacted until the first call. DockerException if the settings are malformed."""
    if timeout is None:
        return docker.from_env()
    return docker.from_env(timeout=max(1, round(timeout)))


def where() -> str:
    """The engine address tried, in words."""
    host = os.environ.get("DOCKER_HOST")
    if host:
        return f"DOCKER_HOST={host}"
    return f"the default socket {DEFAULT_SOCKET} (DOCKER_HOST is not set)"


def check_engine() -> None:
    """BackendUnavailable unless an engine answers within CHECK_TIMEOUT. Blocking."""
    try:
        client = connect(CHECK_TIMEOUT)
        try:
            client.ping()
        finally:
            client.close()
    except EngineError as error:
        raise BackendUnavailable(
            f"No Docker engine answers at {where()}: {error}. Start Docker or point "
            "DOCKER_HOST at a running engine; or run environments without Docker with the "
            'local backend (environment_backend = "local").'
        ) from error


def inspect_image(client: DockerClient, name: str) -> dict[str, Any] | None:
    """An image's attributes, or None if the engine has no such image. Blocking."""
    inspect = cast(Callable[[str], dict[str, Any]], client.api.inspect_image)
    try:
        return inspect(name)
    except (ImageNotFound, NotFound):
        return None
