"""`/orchest/api/steps?file=<path>`: the steps that run a file (for `%orchest` in kernels)."""

import asyncio

from ..services.errors import BadRequest
from ..services.pipelines import PipelineService
from ..services.runs import RunService
from ..services.steps import steps_running
from .base import OrchestAPIHandler, api_method


class StepsOfFileHandler(OrchestAPIHandler):
    @api_method
    async def get(self) -> None:
        file = self.get_query_argument("file", "")
        if not file:
            raise BadRequest("Name the file whose steps you want as `file`.")
        pipelines: PipelineService = self.settings["orchest_pipelines"]
        runs: RunService = self.settings["orchest_runs"]
        # Reads every pipeline under the root: off the server's event loop.
        steps = await asyncio.to_thread(steps_running, pipelines, file, runs.data_dir)
        self.finish({"steps": steps})
