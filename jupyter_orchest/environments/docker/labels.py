"""The labels this backend puts on images, containers and networks, and the removal of
containers and networks left behind by a server that died without cleaning up.

Every container (and interactive session's network) started here carries its owner (host name
and process id) and the executor, build, kernel or session it belongs to, so that whoever
started it can remove all of it, and so that a later server can remove what a dead one left.
"""

import contextlib
import os
import socket
from collections.abc import Mapping

from docker import DockerClient
from docker.errors import APIError, NotFound

from .containers import remove_containers
from .engine import EngineError

PREFIX = "org.jupyter-orchest."
OWNER = PREFIX + "owner"
"""On containers: `<host name>:<pid>` of the process that started it."""
GROUP = PREFIX + "group"
"""On containers: the executor, build or kernel it belongs to (a random id)."""
ROLE = PREFIX + "role"
"""On containers: what it is for (`build`, `kernels`, `script`, `kernel`, `service`), for
humans."""
CONTAINER_ONLY = (OWNER, GROUP, ROLE)
"""Labels that a committed image must not keep: containers of the image would inherit them."""

KIND = PREFIX + "kind"
"""On images: `kernel-support` or `environment`."""
BASE_IMAGE = PREFIX + "base-image"
PROJECT = PREFIX + "project"
PROJECT_DIR = PREFIX + "project-dir"
ENVIRONMENT = PREFIX + "environment"
NUMBER = PREFIX + "build-number"
INPUTS = PREFIX + "inputs"
"""A hash of what the image's contents follow from; equal inputs, interchangeable images."""
GPU_SUPPORT = PREFIX + "gpu-support"


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def container_labels(group: str, role: str) -> dict[str, str]:
    return {OWNER: owner(), GROUP: group, ROLE: role}


def without_container_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """Image labels that override what a committed container's own labels would leave."""
    return {**labels, **dict.fromkeys(CONTAINER_ONLY, "")}


def _owner_is_gone(value: str) -> bool:
    host, _, pid = value.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's, or not ours to judge
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False


def containers_labelled(client: DockerClient, label: str, value: str) -> list[str]:
    found = client.api.containers(all=True, quiet=True, filters={"label": f"{label}={value}"})
    return [str(container["Id"]) for container in found]


def remove_leftovers(client: DockerClient) -> None:
    """Remove the containers of servers on this machine that are no longer running."""
    try:
        found = client.api.containers(all=True, filters={"label": OWNER})
        dead = [c["Id"] for c in found if _owner_is_gone(str(c["Labels"].get(OWNER, "")))]
        remove_containers(client, dead)
    except EngineError:
        pass  # best effort: the next start tries again


def remove_leftover_networks(client: DockerClient) -> None:
    """Remove the networks of servers on this machine that are no longer running; call it
    after `remove_leftovers`: a network with containers cannot be removed."""
    try:
        for network in client.api.networks(filters={"label": OWNER}):
            if _owner_is_gone(str((network.get("Labels") or {}).get(OWNER, ""))):
                with contextlib.suppress(NotFound, APIError):  # gone, or still in use
                    client.api.remove_network(network["Id"])
    except EngineError:
        pass  # best effort: the next session tries again
