"""HTTP handlers: thin, authenticated adapters over the services."""

from typing import Any

from .environments import (
    BuildCancelHandler,
    BuildCollectionHandler,
    BuildHandler,
    BuildLogHandler,
    EnvironmentCollectionHandler,
    EnvironmentHandler,
    NotebookKernelHandler,
)
from .events import EventsHandler
from .jobs import (
    JobActionHandler,
    JobCollectionHandler,
    JobDefaultsHandler,
    JobHandler,
    JobRunFileHandler,
    JobRunRestoreHandler,
    SchedulePreviewHandler,
)
from .pipelines import PipelineCollectionHandler, PipelineHandler
from .provenance import CacheHandler, StepProvenanceHandler
from .runs import RunCancelHandler, RunCollectionHandler, RunHandler, StepLogHandler
from .sessions import SessionCollectionHandler, SessionHandler
from .steps import StepsOfFileHandler
from .variables import VariablesHandler

API_PREFIX = "orchest/api"


def api_routes() -> list[tuple[str, Any]]:
    """Every route the extension serves, relative to the server's base URL."""
    return [
        (rf"/{API_PREFIX}/pipelines", PipelineCollectionHandler),
        (rf"/{API_PREFIX}/pipelines/(?P<path>.+)", PipelineHandler),
        (rf"/{API_PREFIX}/runs", RunCollectionHandler),
        (rf"/{API_PREFIX}/runs/(?P<run_id>\w+)", RunHandler),
        (rf"/{API_PREFIX}/runs/(?P<run_id>\w+)/cancel", RunCancelHandler),
        (rf"/{API_PREFIX}/runs/(?P<run_id>\w+)/steps/(?P<step_uuid>[\w-]+)/log", StepLogHandler),
        (
            rf"/{API_PREFIX}/runs/(?P<run_id>\w+)/steps/(?P<step_uuid>[\w-]+)/provenance",
            StepProvenanceHandler,
        ),
        (rf"/{API_PREFIX}/steps", StepsOfFileHandler),
        (rf"/{API_PREFIX}/cache", CacheHandler),
        (rf"/{API_PREFIX}/jobs", JobCollectionHandler),
        (rf"/{API_PREFIX}/job-defaults", JobDefaultsHandler),
        (rf"/{API_PREFIX}/jobs/(?P<job_id>\w+)", JobHandler),
        (
            rf"/{API_PREFIX}/jobs/(?P<job_id>\w+)/(?P<action>start|pause|resume|cancel)",
            JobActionHandler,
        ),
        (
            rf"/{API_PREFIX}/jobs/(?P<job_id>\w+)/runs/(?P<run_id>\w+)/files/(?P<path>.+)",
            JobRunFileHandler,
        ),
        (rf"/{API_PREFIX}/jobs/(?P<job_id>\w+)/runs/(?P<run_id>\w+)/restore", JobRunRestoreHandler),
        (rf"/{API_PREFIX}/schedules/preview", SchedulePreviewHandler),
        (rf"/{API_PREFIX}/environments", EnvironmentCollectionHandler),
        # Before the environment route, whose uuid pattern would take "kernel" too.
        (rf"/{API_PREFIX}/environments/kernel", NotebookKernelHandler),
        (rf"/{API_PREFIX}/environments/(?P<uuid>[\w-]+)", EnvironmentHandler),
        (rf"/{API_PREFIX}/environments/(?P<uuid>[\w-]+)/builds", BuildCollectionHandler),
        (rf"/{API_PREFIX}/environments/(?P<uuid>[\w-]+)/builds/(?P<number>\d+)", BuildHandler),
        (
            rf"/{API_PREFIX}/environments/(?P<uuid>[\w-]+)/builds/(?P<number>\d+)/log",
            BuildLogHandler,
        ),
        (
            rf"/{API_PREFIX}/environments/(?P<uuid>[\w-]+)/builds/(?P<number>\d+)/cancel",
            BuildCancelHandler,
        ),
        (rf"/{API_PREFIX}/env-variables", VariablesHandler),
        (rf"/{API_PREFIX}/pipeline-sessions", SessionCollectionHandler),
        (rf"/{API_PREFIX}/pipeline-sessions/(?P<path>.+)", SessionHandler),
        (rf"/{API_PREFIX}/events", EventsHandler),
    ]
