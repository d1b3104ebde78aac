"""REST resources for interactive sessions: `/orchest/api/pipeline-sessions[/<pipeline path>]`
(named apart from Jupyter's own `/api/sessions` of kernels, which tools match by its ending)."""

from ..services.errors import BadRequest
from ..sessions.service import SessionService
from .base import OrchestAPIHandler, api_method


class SessionsResource(OrchestAPIHandler):
    @property
    def sessions(self) -> SessionService:
        service: SessionService = self.settings["orchest_sessions"]
        return service


class SessionCollectionHandler(SessionsResource):
    @api_method
    async def get(self) -> None:
        self.finish({"sessions": self.sessions.list()})

    @api_method
    async def post(self) -> None:
        path = self.json_object_body().get("pipeline_path")
        if not isinstance(path, str) or not path:
            raise BadRequest("Name the pipeline file of the session as `pipeline_path`.")
        session, started = await self.sessions.start(path)
        self.set_status(201 if started else 200)
        self.finish(session)


class SessionHandler(SessionsResource):
    @api_method
    async def get(self, path: str) -> None:
        self.finish(self.sessions.get(path))

    @api_method
    async def delete(self, path: str) -> None:
        await self.sessions.stop(path)
        self.set_status(204)
        self.finish()
