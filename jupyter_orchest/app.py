"""The Jupyter server extension: configuration and wiring."""

import os
from pathlib import Path

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import Float, Int, Unicode, default

from .engine.executors import LocalExecutor
from .handlers import api_routes
from .services.events import EventHub
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

    def initialize_settings(self) -> None:
        assert self.serverapp is not None  # set before extensions initialize
        root_dir = Path(self.serverapp.root_dir).expanduser().resolve()
        pipelines = PipelineService(root_dir)
        events = EventHub()
        self.runs = RunService(
            pipelines,
            RunStore(self.database_url),
            LocalExecutor(grace_period=self.kernel_grace_period),
            parallelism=self.max_parallel_steps,
            data_dir=Path(self.data_dir).expanduser().resolve() if self.data_dir else None,
            observer=events,
        )
        self.settings.update(
            orchest_pipelines=pipelines, orchest_runs=self.runs, orchest_events=events
        )

    def initialize_handlers(self) -> None:
        self.handlers.extend(api_routes())

    async def stop_extension(self) -> None:
        await self.runs.shutdown()
