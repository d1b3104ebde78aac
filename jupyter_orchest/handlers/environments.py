"""REST resources for environments: `/orchest/api/environments[/<uuid>[/builds[/<number>
[/log | /cancel]]]]?project=<folder>`, and `/orchest/api/environments/kernel?path=<notebook>`."""

from ..services.environments import EnvironmentService
from ..services.errors import BadRequest
from .base import OrchestAPIHandler, api_method


class EnvironmentsResource(OrchestAPIHandler):
    @property
    def environments(self) -> EnvironmentService:
        service: EnvironmentService = self.settings["orchest_environments"]
        return service

    @property
    def project(self) -> str:
        """The project folder, relative to the server's root folder ("" is the root)."""
        return self.get_query_argument("project", "")


class EnvironmentCollectionHandler(EnvironmentsResource):
    @api_method
    async def get(self) -> None:
        self.finish(await self.environments.list_environments(self.project))

    @api_method
    async def post(self) -> None:
        environment = await self.environments.create(self.project, self.json_object_body())
        self.set_status(201)
        self.finish(environment)


class EnvironmentHandler(EnvironmentsResource):
    @api_method
    async def get(self, uuid: str) -> None:
        self.finish(await self.environments.get(self.project, uuid))

    @api_method
    async def put(self, uuid: str) -> None:
        self.finish(await self.environments.update(self.project, uuid, self.json_object_body()))

    @api_method
    async def delete(self, uuid: str) -> None:
        await self.environments.delete(self.project, uuid)
        self.set_status(204)
        self.finish()


class BuildCollectionHandler(EnvironmentsResource):
    @api_method
    async def get(self, uuid: str) -> None:
        self.finish({"builds": self.environments.list_builds(self.project, uuid)})

    @api_method
    async def post(self, uuid: str) -> None:
        build, started = await self.environments.start_build(self.project, uuid)
        self.set_status(201 if started else 200)
        self.finish(build)


class BuildHandler(EnvironmentsResource):
    @api_method
    async def get(self, uuid: str, number: str) -> None:
        self.finish(self.environments.get_build(self.project, uuid, int(number)))


class BuildLogHandler(EnvironmentsResource):
    @api_method
    async def get(self, uuid: str, number: str) -> None:
        try:
            offset = int(self.get_query_argument("offset", "0"))
        except ValueError:
            raise BadRequest("`offset` must be a whole number of bytes.") from None
        log = self.environments.build_log(self.project, uuid, int(number), offset)
        self.finish(log, set_content_type="text/plain; charset=utf-8")


class BuildCancelHandler(EnvironmentsResource):
    @api_method
    async def post(self, uuid: str, number: str) -> None:
        self.finish(self.environments.cancel_build(self.project, uuid, int(number)))


class NotebookKernelHandler(EnvironmentsResource):
    @api_method
    async def get(self) -> None:
        path = self.get_query_argument("path", None)
        if path is None:
            raise BadRequest("Name the notebook as `path`, relative to the server's root folder.")
        self.finish(await self.environments.kernel_for(path))
