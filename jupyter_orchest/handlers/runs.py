"""REST resources for runs: `/orchest/api/runs[/<id>[/cancel | /steps/<uuid>/log]]`."""

from tornado.iostream import StreamClosedError

from ..services.errors import BadRequest
from ..services.runs import RunService
from .base import OrchestAPIHandler, api_method

TEXT = "text/plain; charset=utf-8"


class RunsResource(OrchestAPIHandler):
    @property
    def runs(self) -> RunService:
        service: RunService = self.settings["orchest_runs"]
        return service


class RunCollectionHandler(RunsResource):
    @api_method
    async def get(self) -> None:
        pipeline = self.get_query_argument("pipeline", None)
        self.finish({"runs": self.runs.list(pipeline)})

    @api_method
    async def post(self) -> None:
        body = self.json_object_body()
        pipeline, steps = body.get("pipeline"), body.get("steps", [])
        if not isinstance(pipeline, str):
            raise BadRequest("Name the pipeline file to run as `pipeline`.")
        if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
            raise BadRequest("`steps` must be a list of step uuids.")
        executor = body.get("executor")
        if executor is not None and not isinstance(executor, str):
            raise BadRequest('`executor` must be "local" or "ray".')
        run = self.runs.start(
            pipeline,
            run_type=str(body.get("type", "all")),
            steps=steps,
            parameters=body.get("parameters"),
            fail_fast=bool(body.get("fail_fast", False)),
            force=bool(body.get("force", False)),
            executor=executor,
        )
        self.set_status(201)
        self.finish(run)


class RunHandler(RunsResource):
    @api_method
    async def get(self, run_id: str) -> None:
        self.finish(self.runs.get(run_id))


class RunCancelHandler(RunsResource):
    @api_method
    async def post(self, run_id: str) -> None:
        self.finish(self.runs.cancel(run_id))


class StepLogHandler(RunsResource):
    """The step's log as text, from byte `offset`: the rest of it, or `limit` bytes (at most
    `logs.MAX_PAGE`), sent in chunks. `X-Orchest-Log-Size` says how long the log is."""

    @api_method
    async def get(self, run_id: str, step_uuid: str) -> None:
        offset, limit = self._bytes("offset"), self._bytes("limit")
        page = self.runs.step_log(run_id, step_uuid, offset or 0, limit)
        self.set_header("Content-Type", TEXT)
        self.set_header("X-Orchest-Log-Size", str(page.size))
        try:
            async for chunk in page.chunks():
                self.write(chunk)
                await self.flush()
        except StreamClosedError:
            return  # the client left: nothing more to send
        self.finish(set_content_type=TEXT)  # an APIHandler's finish would say JSON

    def _bytes(self, name: str) -> int | None:
        given = self.get_query_argument(name, None)
        if given is None:
            return None
        try:
            return int(given)
        except ValueError:
            raise BadRequest(f"`{name}` must be a whole number of bytes.") from None
