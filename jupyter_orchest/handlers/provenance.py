"""REST resources for provenance and the cache: `/orchest/api/runs/<id>/steps/<uuid>/provenance`
and `/orchest/api/cache`."""

from ..services.provenance import ProvenanceService
from .base import OrchestAPIHandler, api_method


class ProvenanceResource(OrchestAPIHandler):
    @property
    def provenance(self) -> ProvenanceService:
        service: ProvenanceService = self.settings["orchest_provenance"]
        return service


class StepProvenanceHandler(ProvenanceResource):
    @api_method
    async def get(self, run_id: str, step_uuid: str) -> None:
        self.finish(self.provenance.step(run_id, step_uuid))


class CacheHandler(ProvenanceResource):
    @api_method
    async def get(self) -> None:
        self.finish(await self.provenance.cache_usage())

    @api_method
    async def delete(self) -> None:
        self.finish({"removed": await self.provenance.clear_cache()})
