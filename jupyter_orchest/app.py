"""The Jupyter server extension: configuration and wiring."""

import asyncio
import os
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import Float, Int, Unicode, default

from .engine.executors import LocalExecutor
from .handlers import api_routes
from .services.events import EventHub
from .services.jobs import JobService, JobSettings
from .services.pipelines import PipelineService
from .services.runs import RunService
from .store import RunStore
from .store.database import sqlite_url


class OrchestApp(ExtensionApp):
    """Serves the pipeline and run APIs under `<base_url>/orchest/api/`."""

    name = "jupyter_orchest"

    database_url = Unicode(
        help="SQLAlchemy URL of the database of runs; SQLite in Jupyter's data folder by default.",
    ).tag(config=True)

    @default("database_url")
    def _default_database_url(self) -> str:
        folder = Path(jupyter_data_dir()) / "orchest"
        folder.mkdir(parents=True, exist_ok=True)
        return sqlite_url(folder / "orchest.db")

    max_parallel_steps = Int(
        help="Steps run at once in a run, unless its pipeline sets max_steps_parallelism.",
    ).tag(config=True)

    @default("max_parallel_steps")
    def _default_max_parallel_steps(self) -> int:
        return os.cpu_count() or 1

    data_dir = Unicode(
        "",
        help="The folder steps see as their data folder (Orchest's /data); "
        "by default the `data` folder of each project.",
    ).tag(config=True)

    kernel_grace_period = Float(
        3.0, help="Seconds a cancelled step gets to stop after an interrupt, before it is killed."
    ).tag(config=True)

    max_job_runs = Int(
        1000, help="The most runs a job may make at once (its grid's size, less exclusions)."
    ).tag(config=True)

    max_concurrent_job_runs = Int(
        2, help="Runs of jobs that execute at the same time, over all jobs."
    ).tag(config=True)

    scheduler_interval = Float(
        5.0, help="Seconds between checks for scheduled jobs that are due."
    ).tag(config=True)

    def initialize_settings(self) -> None:
        assert self.serverapp is not None  # set before extensions initialize
        root_dir = Path(self.serverapp.root_dir).expanduser().resolve()
        pipelines = PipelineService(root_dir)
        events = EventHub()
        store = RunStore(self.database_url)
        executor = LocalExecutor(grace_period=self.kernel_grace_period)
        data_dir = Path(self.data_dir).expanduser().resolve() if self.data_dir else None
        self.runs = RunService(
            pipelines,
            store,
            executor,
            parallelism=self.max_parallel_steps,
            data_dir=data_dir,
            observer=events,
        )
        self.jobs = JobService(
            pipelines,
            store,
            executor,
            JobSettings(
                data_dir=data_dir,
                parallelism=self.max_parallel_steps,
                max_runs_per_job=self.max_job_runs,
                max_concurrent_runs=self.max_concurrent_job_runs,
            ),
            events,
        )
        self._scheduler: asyncio.Task[None] | None = None
        self.settings.update(
            orchest_pipelines=pipelines,
            orchest_runs=self.runs,
            orchest_jobs=self.jobs,
            orchest_events=events,
        )

    def initialize_handlers(self) -> None:
        self.handlers.extend(api_routes())

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        self._scheduler = asyncio.ensure_future(self.jobs.run_scheduler(self.scheduler_interval))

    async def stop_extension(self) -> None:
        if self._scheduler is not None:
            self._scheduler.cancel()
        await self.jobs.shutdown()
        await self.runs.shutdown()
