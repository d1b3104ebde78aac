"""What a session is made of, as the REST API and the event stream show it."""

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class SessionState(str, Enum):
    LAUNCHING = "LAUNCHING"
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    FAILED = "FAILED"


class EnvironmentState(str, Enum):
    BUILDING = "BUILDING"
    READY = "READY"
    FAILED = "FAILED"


class ServiceState(str, Enum):
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    FAILED = "FAILED"
    STOPPED = "STOPPED"


@dataclass
class EnvironmentStatus:
    """An environment the session's steps use, and the warm kernels the session holds in it."""

    uuid: str
    name: str
    state: EnvironmentState = EnvironmentState.BUILDING
    message: str = ""
    kernels: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "name": self.name,
            "state": self.state.value,
            "message": self.message,
            "kernels": self.kernels,
        }


@dataclass
class ServiceStatus:
    name: str
    image: str
    command: str
    scope: list[str]
    state: ServiceState = ServiceState.STARTING
    message: str = ""
    urls: list[str] = field(default_factory=list)
    """Where a browser reaches it."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "image": self.image,
            "command": self.command,
            "scope": list(self.scope),
            "state": self.state.value,
            "message": self.message,
            "urls": list(self.urls),
        }


@dataclass(frozen=True)
class SessionChanged:
    """A session as it is now; the last event of a session says STOPPED."""

    session: dict[str, Any]
