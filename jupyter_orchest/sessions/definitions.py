"""A pipeline's `services`, read from its definition as Orchest writes them, and checked.

Orchest's keys: `name`, `image`, `command`, `args`, `entrypoint` (files from before Orchest
ran on Kubernetes), `binds` (`/data` and `/project-dir` to a path in the container), `ports`,
`env_variables`, `env_variables_inherit`, `scope` (`interactive`, `noninteractive`) and
`order`; `exposed`, `requires_authentication` and `preserve_base_path` concern Orchest's
proxy and mean nothing here. Command lines are split into argument lists as a POSIX shell
would split them, and never run by a shell.
"""

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

INTERACTIVE = "interactive"
NONINTERACTIVE = "noninteractive"
DEFAULT_SCOPE = (INTERACTIVE, NONINTERACTIVE)
BIND_SOURCES = ("/data", "/project-dir")
"""The only folders a service may mount: the data folder and the project, as in Orchest."""
NAME = re.compile(r"[a-z][0-9a-z-]{0,25}")
"""Orchest's rule for service names, which steps use as host names."""
VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ServiceDefinitionError(ValueError):
    """A service the pipeline file describes in a way that cannot run; says how to fix it."""


@dataclass(frozen=True)
class ServiceDefinition:
    """One service of a pipeline, checked."""

    name: str
    image: str
    entrypoint: tuple[str, ...]
    command: tuple[str, ...]
    args: tuple[str, ...]
    command_line: str
    """The command as the pipeline file gives it (entrypoint, command and args), for humans."""
    binds: Mapping[str, str]
    """`/data` and `/project-dir` to the path where the service sees them."""
    ports: tuple[int, ...]
    env_variables: Mapping[str, str]
    env_variables_inherit: tuple[str, ...]
    scope: tuple[str, ...]
    order: int
    raw: Mapping[str, Any]
    """The service as the pipeline file has it."""

    @property
    def argv(self) -> list[str]:
        """The whole command to run as a process: entrypoint, command, args."""
        return [*self.entrypoint, *self.command, *self.args]

    def environment(self, server_environment: Mapping[str, str]) -> dict[str, str]:
        """Its variables; the inherited ones (taken from the server's environment when it
        has them) win over its own, as in Orchest."""
        inherited = {
            name: server_environment[name]
            for name in self.env_variables_inherit
            if name in server_environment
        }
        return {**self.env_variables, **inherited}


@dataclass(frozen=True)
class BadService:
    """A service that cannot start, and why."""

    name: str
    image: str
    command_line: str
    scope: tuple[str, ...]
    raw: Mapping[str, Any]
    message: str


def services_in_scope(
    definition: Mapping[str, Any], scope: str
) -> list[ServiceDefinition | BadService]:
    """The pipeline's services of that scope, in their `order` (then by name)."""
    services = definition.get("services")
    found: list[ServiceDefinition | BadService] = []
    for key, raw in (services if isinstance(services, Mapping) else {}).items():
        raw = raw if isinstance(raw, Mapping) else {}
        name = str(raw.get("name") or key)
        try:
            service = read_service(name, raw)
        except ServiceDefinitionError as error:
            if scope in _scope(raw):
                found.append(_bad(name, raw, str(error)))
            continue
        if scope in service.scope:
            found.append(service)
    return sorted(found, key=lambda service: (_order(service.raw), service.name))


def has_run_services(definition: Mapping[str, Any]) -> bool:
    """Whether runs that are not interactive (a job's, one from the command line) need a
    session of their own for the pipeline's services."""
    return bool(services_in_scope(definition, NONINTERACTIVE))


def read_service(name: str, raw: Mapping[str, Any]) -> ServiceDefinition:
    """The service checked; ServiceDefinitionError saying what to fix otherwise."""
    if not NAME.fullmatch(name):
        raise ServiceDefinitionError(
            f"The service name {name!r} cannot be used: steps reach a service by its name, so "
            "it must be lower-case letters, digits and '-', start with a letter and have at "
            "most 26 characters. Rename the service."
        )
    binds = _strings(raw.get("binds"), "binds", name)
    outside = sorted(set(binds) - set(BIND_SOURCES))
    if outside:
        raise ServiceDefinitionError(
            f"The service {name!r} binds {', '.join(outside)}: a service may only mount the "
            f"data folder (/data) and the project folder (/project-dir). Remove the other binds."
        )
    for source, target in binds.items():
        if not target.startswith("/"):
            raise ServiceDefinitionError(
                f"The service {name!r} mounts {source} at {target!r}: give an absolute path "
                "inside the service's container."
            )
    variables = _strings(raw.get("env_variables"), "env_variables", name)
    inherited = raw.get("env_variables_inherit") or []
    if not isinstance(inherited, list) or not all(isinstance(v, str) for v in inherited):
        raise ServiceDefinitionError(
            f"`env_variables_inherit` of the service {name!r} must be a list of variable names."
        )
    for variable in [*variables, *inherited]:
        if not VARIABLE.fullmatch(variable):
            raise ServiceDefinitionError(
                f"{variable!r} is not a valid environment variable name (service {name!r}): "
                "use letters, digits and '_', not starting with a digit."
            )
    ports = raw.get("ports") or []
    if not isinstance(ports, list) or not all(_is_port(port) for port in ports):
        raise ServiceDefinitionError(
            f"`ports` of the service {name!r} must be a list of port numbers (1 to 65535)."
        )
    parts = {key: _text(raw.get(key), key, name) for key in ("entrypoint", "command", "args")}
    image = _text(raw.get("image"), "image", name)
    return ServiceDefinition(
        name=name,
        image=image.strip(),
        entrypoint=_split(parts["entrypoint"], "entrypoint", name),
        command=_split(parts["command"], "command", name),
        args=_split(parts["args"], "args", name),
        command_line=" ".join(part for part in parts.values() if part.strip()),
        binds=binds,
        ports=tuple(dict.fromkeys(ports)),
        env_variables=variables,
        env_variables_inherit=tuple(inherited),
        scope=_scope(raw),
        order=_order(raw),
        raw=raw,
    )


def _bad(name: str, raw: Mapping[str, Any], message: str) -> BadService:
    """The service as far as it can be shown."""
    image, parts = raw.get("image"), (raw.get(key) for key in ("entrypoint", "command", "args"))
    return BadService(
        name=name,
        image=image if isinstance(image, str) else "",
        command_line=" ".join(part for part in parts if isinstance(part, str) and part.strip()),
        scope=_scope(raw),
        raw=raw,
        message=message,
    )


def _scope(raw: Mapping[str, Any]) -> tuple[str, ...]:
    scope = raw.get("scope")
    if not isinstance(scope, list):
        return DEFAULT_SCOPE
    return tuple(str(item) for item in scope)


def _order(raw: Mapping[str, Any]) -> int:
    order = raw.get("order")
    return order if isinstance(order, int) else 0


def _is_port(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def _text(value: object, key: str, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ServiceDefinitionError(f"`{key}` of the service {name!r} must be text.")
    return value


def _strings(value: object, key: str, name: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ServiceDefinitionError(
            f"`{key}` of the service {name!r} must map names to text values."
        )
    return dict(value)


def _split(text: str, key: str, name: str) -> tuple[str, ...]:
    """Words as a POSIX shell splits them (quotes kept together), for an argument list."""
    try:
        return tuple(shlex.split(text))
    except ValueError as error:
        raise ServiceDefinitionError(
            f"`{key}` of the service {name!r} cannot be split into arguments ({error}): "
            "check its quotes."
        ) from None
