"""Live events for WebSocket clients: every state change and log line of runs and of
environment builds, and every change of an interactive session, as JSON."""

import asyncio
from dataclasses import fields
from typing import Any

from ..engine.events import RunChanged, StepChanged, StepLogged
from ..environments.events import BuildChanged, BuildLogged
from ..sessions.model import SessionChanged

Event = RunChanged | StepChanged | StepLogged | BuildChanged | BuildLogged | SessionChanged
KINDS: dict[type, str] = {
    RunChanged: "run",
    StepChanged: "step",
    StepLogged: "log",
    BuildChanged: "build",
    BuildLogged: "build_log",
    SessionChanged: "session",
}


def event_to_json(event: Event) -> dict[str, Any]:
    # Field by field: `asdict` deep-copies, which cost more than the rest of a cached step's
    # events. The events are flat and hold nothing that changes after they are made.
    body: dict[str, Any] = {"type": KINDS[type(event)]}
    for field in fields(event):
        value = getattr(event, field.name)
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif hasattr(value, "value"):
            value = value.value
        body[field.name] = value
    return body


class EventHub:
    """An observer (of runs and of builds) that hands every event to each subscriber's queue."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()

    def subscribe(self) -> "asyncio.Queue[dict[str, Any]]":
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: "asyncio.Queue[dict[str, Any]]") -> None:
        self._queues.discard(queue)

    def _publish(self, event: Event) -> None:
        if self._queues:
            message = event_to_json(event)
            for queue in self._queues:
                queue.put_nowait(message)

    run_changed = _publish
    step_changed = _publish
    step_logged = _publish
    build_changed = _publish
    build_logged = _publish
    session_changed = _publish
