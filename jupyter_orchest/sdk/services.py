"""The pipeline's services, as its steps reach them (Orchest's ``orchest.services``).

The engine gives each step of a session the session's services in one variable, as JSON:
what the pipeline file says of each service, plus where the step reaches it
(``internal_hostname``, ``internal_urls`` by port), where a browser reaches it
(``external_urls`` by port, when its ports are published), its ``state`` and ``message``.
Interactive runs have the pipeline's interactive session (services of scope
``interactive``); a job's run and a run from the command line have a session of their own
(services of scope ``noninteractive``). A service that could not start is there as FAILED,
so that asking for it says why. Standard library only.
"""

from __future__ import annotations

import json
import os
from typing import Any

from .errors import ServiceNotFound, SessionNotFound

SESSION_SERVICES = "ORCHEST_SESSION_SERVICES"
"""JSON: each service of the step's session by name (see the module's docs)."""
FAILED = "FAILED"
PORT_MAPS = ("internal_urls", "external_urls", "base_paths")
"""Keyed by port: JSON makes the ports strings, they are numbers again here, as in Orchest."""


def get_services() -> dict[str, dict[str, Any]]:
    """The running services of the step's session, by name.

    Raises:
        SessionNotFound: the step runs without a session that has services (the pipeline
            has none of the run's scope, or the step does not run as a pipeline step).
    """
    return {name: service for name, service in _session_services().items() if not _failed(service)}


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
        ServiceNotFound: the session has no service of that name, or it could not start
            (the message says why).
        SessionNotFound: the step runs without a session that has services.
    """
    services = _session_services()
    service = services.get(name)
    if service is None:
        known = ", ".join(sorted(services)) or "none"
        raise ServiceNotFound(
            f"Could not find service with name {name!r} (the session's services: {known})."
        )
    if _failed(service):
        raise ServiceNotFound(
            f"The service {name!r} is not running: {service.get('message') or 'it failed'}"
        )
    return service


def _session_services() -> dict[str, dict[str, Any]]:
    """Every service of the step's session, failed ones too."""
    text = os.environ.get(SESSION_SERVICES)
    if text is None:
        raise SessionNotFound(
            "This step runs without a session that has services: the pipeline defines none "
            "for this kind of run (a service's `scope` says where it runs: `interactive` "
            "for runs in JupyterLab, `noninteractive` for jobs and the command line), or "
            "this code does not run as a pipeline step."
        )
    try:
        services = json.loads(text)
    except ValueError as error:
        raise SessionNotFound(f"{SESSION_SERVICES} is not valid JSON: {error}") from None
    return {name: _with_numbered_ports(service) for name, service in services.items()}


def _failed(service: dict[str, Any]) -> bool:
    return service.get("state") == FAILED


def _with_numbered_ports(service: dict[str, Any]) -> dict[str, Any]:
    service = dict(service)
    for key in PORT_MAPS:
        if isinstance(service.get(key), dict):
            service[key] = {int(port): value for port, value in service[key].items()}
    return service
