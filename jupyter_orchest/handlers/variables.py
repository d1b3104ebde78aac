"""REST resource for the environment variables of projects and pipelines:
`/orchest/api/env-variables?pipeline=<path>` or `?project=<folder>`."""

from ..services.variables import VariableService
from .base import OrchestAPIHandler, api_method


class VariablesHandler(OrchestAPIHandler):
    @property
    def variables(self) -> VariableService:
        service: VariableService = self.settings["orchest_variables"]
        return service

    @api_method
    async def get(self) -> None:
        self.finish(self.variables.get(*self._named()))

    @api_method
    async def put(self) -> None:
        self.finish(self.variables.update(*self._named(), self.json_object_body()))

    def _named(self) -> tuple[str | None, str | None]:
        return self.get_query_argument("pipeline", None), self.get_query_argument("project", None)
