"""The pipeline's services, as its steps reach them (Orchest's ``orchest.services``).

The server gives each step of an interactive session the session's services in one
variable, as JSON: what the pipeline file says of each service, plus where the step reaches
it (``internal_hostname``, ``internal_urls`` by port) and where a browser reaches it
(``external_urls`` by port, when its ports are published). Standard library only.
"""

from __future__ import annotations

import json
import os
from typing import Any

from .errors import ServiceNotFound, SessionNotFound

SESSION_SERVICES = "ORCHEST_SESSION_SERVICES"
"""JSON: each service of the step's session by name (see the module's docs)."""
PORT_MAPS = ("internal_urls", "external_urls", "base_paths")
"""Keyed by port: JSON makes the ports strings, they are numbers again here, as in Orchest."""


def get_services() -> dict[str, dict[str, Any]]:
    """The services of the pipeline's session, by name.

    Raises:
        SessionNotFound: the step does not run in an interactive session (e.g. in a job).
    """
    text = os.environ.get(SESSION_SERVICES)
    if text is None:
        raise SessionNotFound(
            "This step runs without an interactive session, so it has no services: only the "
            "runs of a pipeline whose session is started can reach the services in its file "
            "(jobs do not start services yet)."
        )
    try:
        services = json.loads(text)
    except ValueError as error:
        raise SessionNotFound(f"{SESSION_SERVICES} is not valid JSON: {error}") from None
    return {name: _with_numbered_ports(service) for name, service in services.items()}


def get_service(name: str) -> dict[str, Any]:
    """The service of the pipeline's session named ``name``, e.g.::

        {
            "name": "redis", "image": "redis", "ports": [6379], ...  # as the pipeline says
            "internal_hostname": "redis",  # the host name steps reach it at
            "internal_urls": {6379: "http://redis:6379/"},
            "external_urls": {6379: "http://127.0.0.1:49153/"},  # for a browser, if any
            "state": "RUNNING", "message": "",
        }

    Raises:
        ServiceNotFound: the session has no service of that name.
        SessionNotFound: the step does not run in an interactive session.
    """
    services = get_services()
    if name not in services:
        known = ", ".join(sorted(services)) or "none"
        raise ServiceNotFound(
            f"Could not find service with name {name!r} (the session's services: {known})."
        )
    return services[name]


def _with_numbered_ports(service: dict[str, Any]) -> dict[str, Any]:
    service = dict(service)
    for key in PORT_MAPS:
        if isinstance(service.get(key), dict):
            service[key] = {int(port): value for port, value in service[key].items()}
    return service
