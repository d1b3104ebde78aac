"""The live event stream: `/orchest/api/events`, a WebSocket of run, step, log, build and
build log events."""

import asyncio
import json
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..services.events import EventHub
from .base import UNAVAILABLE


class EventsHandler(WebSocketMixin, WebSocketHandler, ExtensionHandlerMixin, JupyterHandler):
    """Sends every event as a JSON message; `?run=<id>`, `?pipeline=<uuid>` or
    `?environment=<uuid>` narrows them."""

    auth_resource = "orchest"

    async def get(self, *args: Any, **kwargs: Any) -> None:
        # Authentication happens before the upgrade, as for Jupyter's own WebSockets.
        if self.current_user is None:
            raise web.HTTPError(403)
        authorized = self.authorizer.is_authorized(self, self.current_user, "read", "orchest")
        if not await ensure_async(authorized):
            raise web.HTTPError(403)
        if self.settings.get(UNAVAILABLE) is not None:
            raise web.HTTPError(503, self.settings[UNAVAILABLE])
        await super().get(*args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> None:
        hub: EventHub = self.settings["orchest_events"]
        self.hub = hub
        self.only_run = self.get_query_argument("run", None)
        self.only_pipeline = self.get_query_argument("pipeline", None)
        self.only_environment = self.get_query_argument("environment", None)
        self.queue = hub.subscribe(self._wanted)
        self.sender = asyncio.ensure_future(self._send_events())

    def on_close(self) -> None:
        self.hub.unsubscribe(self.queue)
        self.sender.cancel()

    def on_message(self, message: str | bytes) -> None:
        pass  # the stream is one way

    async def _send_events(self) -> None:
        while True:
            events = await self.queue.take()  # what came meanwhile, written in one go
            try:
                # Waiting for the writes keeps a slow client's backlog in its own queue,
                # where it is bounded.
                await asyncio.gather(*(self.write_message(json.dumps(e)) for e in events))
            except WebSocketClosedError:
                return

    def _wanted(self, event: dict[str, Any]) -> bool:
        return not (
            (self.only_run and event.get("run_id") != self.only_run)
            or (self.only_pipeline and event.get("pipeline_uuid") != self.only_pipeline)
            or (self.only_environment and event.get("environment_uuid") != self.only_environment)
        )
