"""REST resources for pipeline files: `/orchest/api/pipelines[/<path>]`."""

import asyncio

from ..services.errors import BadRequest
from ..services.pipelines import PipelineService
from .base import OrchestAPIHandler, api_method


class PipelinesResource(OrchestAPIHandler):
    @property
    def pipelines(self) -> PipelineService:
        service: PipelineService = self.settings["orchest_pipelines"]
        return service


class PipelineCollectionHandler(PipelinesResource):
    @api_method
    async def get(self) -> None:
        # Discovery walks the whole root folder: keep it off the server's event loop.
        found = await asyncio.to_thread(self.pipelines.list_pipelines)
        self.finish({"pipelines": found})

    @api_method
    async def post(self) -> None:
        body = self.json_object_body()
        folder = body.get("folder", "")
        if not isinstance(folder, str):
            raise BadRequest("`folder` must be a path relative to the server's root folder.")
        created = self.pipelines.create(folder, body.get("name"))
        self.set_status(201)
        self.finish(created.to_json())


class PipelineHandler(PipelinesResource):
    @api_method
    async def get(self, path: str) -> None:
        self.finish(self.pipelines.read(path).to_json())

    @api_method
    async def put(self, path: str) -> None:
        body = self.json_object_body()
        if "definition" not in body:
            raise BadRequest("The request body needs the pipeline as `definition`.")
        updated = self.pipelines.update(path, body.get("definition"))
        self.finish(updated.to_json())

    @api_method
    async def delete(self, path: str) -> None:
        self.pipelines.delete(path)
        self.set_status(204)
        self.finish()
