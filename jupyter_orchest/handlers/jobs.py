"""REST resources for jobs: `/orchest/api/jobs[/<id>[/start | /pause | /resume | /cancel |
/runs/<run id>/files/<path> | /runs/<run id>/restore]]`, and `/orchest/api/job-defaults`
for what a new job starts from, and `/orchest/api/schedules/preview` for the next slots of a
cron schedule while the user types it."""

import mimetypes
from datetime import datetime
from zoneinfo import ZoneInfo

from ..jobs.schedule import CronSchedule, ScheduleError
from ..services.errors import BadRequest
from ..services.jobs import JobService
from .base import OrchestAPIHandler, api_method

PREVIEWED_SLOTS = 5


class JobsResource(OrchestAPIHandler):
    @property
    def jobs(self) -> JobService:
        service: JobService = self.settings["orchest_jobs"]
        return service


class JobCollectionHandler(JobsResource):
    @api_method
    async def get(self) -> None:
        self.finish({"jobs": self.jobs.list(self.get_query_argument("pipeline", None))})

    @api_method
    async def post(self) -> None:
        job = await self.jobs.create(self.json_object_body())
        self.set_status(201)
        self.finish(job)


class JobDefaultsHandler(JobsResource):
    """GET ?pipeline=...: what a new job of the pipeline starts from."""

    @api_method
    async def get(self) -> None:
        pipeline = self.get_query_argument("pipeline", None)
        if pipeline is None:
            raise BadRequest("Name the pipeline file as `pipeline`.")
        self.finish(self.jobs.defaults(pipeline))


class JobHandler(JobsResource):
    @api_method
    async def get(self, job_id: str) -> None:
        self.finish(self.jobs.get(job_id))

    @api_method
    async def delete(self, job_id: str) -> None:
        await self.jobs.delete(job_id)
        self.set_status(204)
        self.finish()


class JobActionHandler(JobsResource):
    """POST /jobs/<id>/<start|pause|resume|cancel>."""

    @api_method
    async def post(self, job_id: str, action: str) -> None:
        actions = {
            "start": self.jobs.start,
            "pause": self.jobs.pause,
            "resume": self.jobs.resume,
            "cancel": self.jobs.cancel,
        }
        self.finish(actions[action](job_id))


class JobRunFileHandler(JobsResource):
    """A file of a job's run as the run left it, e.g. a notebook with its outputs."""

    @api_method
    async def get(self, job_id: str, run_id: str, path: str) -> None:
        file = self.jobs.run_file(job_id, run_id, path)
        kind = mimetypes.guess_type(file.name)[0]
        if file.suffix == ".ipynb" or kind is None:
            kind = "application/json" if file.suffix == ".ipynb" else "text/plain"
        self.set_header("Content-Type", f"{kind}; charset=utf-8")
        self.finish(file.read_bytes())


class JobRunRestoreHandler(JobsResource):
    @api_method
    async def post(self, job_id: str, run_id: str) -> None:
        restored = await self.jobs.restore(job_id, run_id, self.json_object_body().get("folder"))
        self.set_status(201)
        self.finish(restored)


class SchedulePreviewHandler(OrchestAPIHandler):
    """GET ?cron=...&timezone=...: the next slots, or why the schedule is not valid."""

    @api_method
    async def get(self) -> None:
        try:
            schedule = CronSchedule.parse(
                self.get_query_argument("cron", ""), self.get_query_argument("timezone", "UTC")
            )
        except ScheduleError as error:
            raise BadRequest(str(error)) from None
        zone = ZoneInfo(schedule.timezone)
        slots = schedule.upcoming(datetime.now(zone), PREVIEWED_SLOTS)
        # In the schedule's own time zone, as the user wrote the schedule.
        self.finish({"next": [slot.astimezone(zone).isoformat() for slot in slots]})
