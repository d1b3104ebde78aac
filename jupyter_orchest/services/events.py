"""Live events for WebSocket clients: every state change and log line of runs and of
environment builds, and every change of an interactive session, as JSON, in a bounded queue
per client (a step printing without end, or a client that reads slowly, must not fill the
server's memory)."""

import asyncio
from collections.abc import Callable
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


Message = dict[str, Any]
LOG_KINDS = {"log": "log_skipped", "build_log": "build_log_skipped"}
"""Log events, and the marker that stands for those of one log a client did not get."""
MAX_LOG_BYTES = 1 << 20
"""Characters of log text one client's queue holds before its waiting log events are
replaced by markers."""
MAX_LOG_EVENTS = 1000
"""Log events one client's queue holds (small events cost more than their text)."""


def _log_key(message: Message) -> tuple[Any, ...]:
    """Which log a log event belongs to: a step of a run, or a build."""
    if message["type"] == "log":
        return ("log", message["run_id"], message["step_uuid"])
    return ("build_log", message["project"], message["environment_uuid"], message["number"])


class ClientQueue:
    """One client's events waiting to be sent, in order, and bounded: state changes are all
    kept, but past MAX_LOG_BYTES or MAX_LOG_EVENTS of log events, the waiting log events of
    each log are replaced by one marker where its first one was: `log_skipped` (with the run,
    the step, and the `offset` in bytes of the first text the client missed: read the step's
    log from there) or `build_log_skipped` (read the build's log again). A log's events that
    come while its marker waits are dropped, as the marker covers them; a client that appends
    texts should skip what it has read already (each `log` event has its `offset`)."""

    def __init__(
        self,
        wanted: Callable[[Message], bool],
        max_log_bytes: int = MAX_LOG_BYTES,
        max_log_events: int = MAX_LOG_EVENTS,
    ) -> None:
        self.wanted = wanted
        self.max_log_bytes, self.max_log_events = max_log_bytes, max_log_events
        self._waiting: list[Message] = []
        self._log_bytes = self._log_events = 0
        self._skipping: set[tuple[Any, ...]] = set()
        """The logs whose marker waits in the queue."""
        self._arrived = asyncio.Event()

    def put(self, message: Message) -> None:
        if not self.wanted(message):
            return
        if message["type"] in LOG_KINDS:
            if _log_key(message) in self._skipping:
                return
            self._log_bytes += len(message["text"])
            self._log_events += 1
        self._waiting.append(message)
        if self._log_bytes > self.max_log_bytes or self._log_events > self.max_log_events:
            self._coalesce()
        self._arrived.set()

    async def take(self) -> list[Message]:
        """Every event waiting, once there is one."""
        await self._arrived.wait()
        self._arrived.clear()
        taken, self._waiting = self._waiting, []
        self._log_bytes = self._log_events = 0
        self._skipping.clear()
        return taken

    def _coalesce(self) -> None:
        kept: list[Message] = []
        for message in self._waiting:
            kind = message["type"]
            if kind not in LOG_KINDS:
                kept.append(message)
                continue
            key = _log_key(message)
            if key in self._skipping:
                continue
            self._skipping.add(key)
            marker = {
                name: value
                for name, value in message.items()
                if name not in ("text", "stream", "offset")
            }
            marker["type"] = LOG_KINDS[kind]
            if kind == "log":
                marker["offset"] = message["offset"]
            kept.append(marker)
        self._waiting = kept
        self._log_bytes = self._log_events = 0


class EventHub:
    """An observer (of runs and of builds) that hands every event to each subscriber's queue."""

    def __init__(self) -> None:
        self._queues: set[ClientQueue] = set()

    def subscribe(self, wanted: Callable[[Message], bool] = lambda _: True) -> ClientQueue:
        """A queue of the events `wanted` accepts."""
        queue = ClientQueue(wanted)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: ClientQueue) -> None:
        self._queues.discard(queue)

    def _publish(self, event: Event) -> None:
        if self._queues:
            message = event_to_json(event)
            for queue in self._queues:
                queue.put(message)

    run_changed = _publish
    step_changed = _publish
    step_logged = _publish
    build_changed = _publish
    build_logged = _publish
    session_changed = _publish
