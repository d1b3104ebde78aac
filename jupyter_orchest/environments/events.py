"""Events of environment builds, and the observers that receive them (as `engine.events` for
runs: a no-op observer is the default, so no code checks for None)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from .model import BuildState


@dataclass(frozen=True)
class BuildChanged:
    project: str
    """The project, as the server's API names it (relative to its root folder)."""
    environment_uuid: str
    environment_name: str
    number: int
    backend: str
    state: BuildState
    at: datetime
    message: str = ""


@dataclass(frozen=True)
class BuildLogged:
    project: str
    environment_uuid: str
    number: int
    text: str


class BuildObserver(Protocol):
    def build_changed(self, event: BuildChanged) -> None: ...

    def build_logged(self, event: BuildLogged) -> None: ...


class NoOpBuildObserver:
    def build_changed(self, event: BuildChanged) -> None:
        pass

    def build_logged(self, event: BuildLogged) -> None:
        pass
