"""Events of a run, and the observers that receive them (an idea taken from Orcapod).

Observers are injected down the call chain; the default is a no-op, so no code checks for None.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .model import RunState, StepState, Stream

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunChanged:
    run_id: str
    pipeline_uuid: str
    state: RunState
    at: datetime
    message: str = ""


@dataclass(frozen=True)
class StepChanged:
    run_id: str
    pipeline_uuid: str
    step_uuid: str
    title: str
    state: StepState
    at: datetime
    message: str = ""
    cached: bool = False
    """On COMPUTED: the outputs came from the cache."""
    reasons: tuple[str, ...] = ()
    """On a finished state: why the step was computed rather than taken from the cache."""
    attempt: int = 1
    """Which attempt of the step this is (RUNNING), or was the last (finished)."""
    attempts: int = 1
    """How many attempts the step may have (its retries, plus one)."""


@dataclass(frozen=True)
class StepLogged:
    run_id: str
    pipeline_uuid: str
    step_uuid: str
    stream: Stream
    text: str
    offset: int = 0
    """Where the text starts in the step's log, in bytes (UTF-8)."""


class RunObserver(Protocol):
    def run_changed(self, event: RunChanged) -> None: ...

    def step_changed(self, event: StepChanged) -> None: ...

    def step_logged(self, event: StepLogged) -> None: ...


class NoOpObserver:
    def run_changed(self, event: RunChanged) -> None:
        pass

    def step_changed(self, event: StepChanged) -> None:
        pass

    def step_logged(self, event: StepLogged) -> None:
        pass


class ObserverGroup:
    """Forwards every event to several observers; one that fails never stops a run."""

    def __init__(self, observers: Iterable[RunObserver]) -> None:
        self.observers = list(observers)

    def run_changed(self, event: RunChanged) -> None:
        for observer in self.observers:
            self._deliver(observer.run_changed, event)

    def step_changed(self, event: StepChanged) -> None:
        for observer in self.observers:
            self._deliver(observer.step_changed, event)

    def step_logged(self, event: StepLogged) -> None:
        for observer in self.observers:
            self._deliver(observer.step_logged, event)

    @staticmethod
    def _deliver(handler: Callable[[Any], None], event: object) -> None:
        try:
            handler(event)
        except Exception:
            log.exception("An observer failed on %s; the run goes on", type(event).__name__)
