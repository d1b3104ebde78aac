"""The Jupyter server extension: configuration and wiring."""

import asyncio
import os
from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Dict, Enum, Float, Int, Unicode, default

from .engine.cache import (
    DEFAULT_CACHE_MAX_BYTES,
    DEFAULT_CACHE_MAX_FILE_BYTES,
    StepCache,
    default_cache_dir,
)
from .engine.caching import Caching
from .engine.executors import LocalExecutor
from .engine.executors.ray import RayExecutor
from .engine.model import OutputLimit, StepExecutor
from .environments.backends import (
    CHOICES,
    DEFAULT_BASE_IMAGES,
    BackendChoice,
    default_settings,
    kernelspecs_dir,
)
from .environments.builds import Builds
from .environments.executor import EnvironmentExecutor
from .environments.kernelspecs import KernelspecFolder
from .handlers import api_routes
from .handlers.base import UNAVAILABLE
from .services.environments import EnvironmentService
from .services.events import EventHub
from .services.jobs import JobService, JobSettings
from .services.kernel_link import give_kernels_the_server
from .services.pipelines import PipelineService
from .services.provenance import ProvenanceService
from .services.runs import RunService
from .services.variables import VariableService
from .sessions.run_session import RunSessionSettings
from .sessions.service import SessionService
from .store import BuildStore, DatabaseUnavailable, RunStore
from .store.database import default_database_url
from .store.provenance import ProvenanceStore


class OrchestApp(ExtensionApp):
    """Serves the pipeline and run APIs under `<base_url>/orchest/api/`."""

    name = "jupyter_orchest"
    _serving = False
    """Whether the services run: not when the database cannot be used."""

    database_url = Unicode(
        help="SQLAlchemy URL of the database of runs; SQLite in Jupyter's data folder by default.",
    ).tag(config=True)

    @default("database_url")
    def _default_database_url(self) -> str:
        return default_database_url()

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

    environment_backend = Enum(
        CHOICES,
        default_value="auto",
        help="Where steps run: 'auto' (in Docker when an engine answers, decided at first use; "
        "else 'local'), 'docker' (each environment an image, steps in containers), 'local' "
        "(each environment a virtual environment of its project), or 'none' (no environments: "
        "steps run with the server's own kernels and interpreters).",
    ).tag(config=True)

    base_images = Dict(
        value_trait=Unicode(),
        default_value=DEFAULT_BASE_IMAGES,
        help="The image used for each of Orchest's base images (`orchest/base-kernel-py`, "
        "`-r`, `-julia`) when environments are built with Docker; other base images are used "
        "as they are named.",
    ).tag(config=True)

    build_ca_bundle = Unicode(
        "",
        help="A CA bundle (PEM file) that Docker builds, step containers and their kernels "
        "trust, e.g. a TLS-intercepting proxy's.",
    ).tag(config=True)

    build_pip_config = Unicode(
        "",
        help="A pip configuration file (e.g. naming a package index) that Docker builds, "
        "step containers and their kernels use.",
    ).tag(config=True)

    build_carry_proxy = Bool(
        False,
        help="Pass this server's proxy variables (HTTP_PROXY ...) to Docker builds, step "
        "containers and their kernels.",
    ).tag(config=True)

    ray_address = Unicode(
        "",
        help="The address of a Ray cluster (as `ray.init` takes it: `auto`, `host:6379`, "
        "`ray://host:10001`, or `local` to start one in this process): the steps of runs and "
        "jobs then run as Ray tasks there, in the workers' Python, instead of in their "
        "environments here (a run may still ask for `local`). Empty: Ray is not used.",
    ).tag(config=True)

    cache_dir = Unicode(
        help="The folder of the step cache (results found again by their key); "
        "`orchest/cache` in Jupyter's data folder by default.",
    ).tag(config=True)

    @default("cache_dir")
    def _default_cache_dir(self) -> str:
        return str(default_cache_dir())

    cache_max_bytes = Int(
        DEFAULT_CACHE_MAX_BYTES,
        help="Size limit of the step cache in bytes; the least recently used results go "
        "first. 0 turns caching off (provenance is still recorded).",
    ).tag(config=True)

    notebook_output_max_bytes = Int(
        OutputLimit.max_bytes,
        min=1,
        help="Bytes of a notebook cell's printed output (stdout and stderr) that a run writes "
        "into the notebook; the rest is left out, with a line saying where the step's whole "
        "log is.",
    ).tag(config=True)

    notebook_output_max_lines = Int(
        OutputLimit.max_lines,
        min=1,
        help="Lines of a notebook cell's printed output that a run writes into the notebook "
        "(see notebook_output_max_bytes).",
    ).tag(config=True)

    cache_max_file_bytes = Int(
        DEFAULT_CACHE_MAX_FILE_BYTES,
        help="The largest file a step writes in its project or data folder that the cache "
        "keeps with its result; a step that writes a larger one is not cached, and says so.",
    ).tag(config=True)

    def initialize_settings(self) -> None:
        assert self.serverapp is not None  # set before extensions initialize
        give_kernels_the_server(self.serverapp)  # for `%orchest` in kernels
        try:
            self._serve(Path(self.serverapp.root_dir).expanduser().resolve())
        except DatabaseUnavailable as error:
            # The server runs on, and every route of the extension answers with the message,
            # so that the UI shows it too.
            self.log.error("jupyter-orchest cannot run: %s", error.message)
            self.settings[UNAVAILABLE] = error.message
            return
        self._serving = True

    def _serve(self, root_dir: Path) -> None:
        pipelines = PipelineService(root_dir)
        events = EventHub()
        store = RunStore(self.database_url)
        self.builds = self._builds(root_dir, store, events)
        local: StepExecutor = (
            EnvironmentExecutor(self.builds)
            if self.builds.backends.enabled
            else LocalExecutor(grace_period=self.kernel_grace_period)
        )
        executors = {"local": local}
        if self.ray_address:
            executors["ray"] = RayExecutor(self.ray_address)
        executor = executors.get("ray", local)
        data_dir = Path(self.data_dir).expanduser().resolve() if self.data_dir else None
        cache_dir = Path(self.cache_dir).expanduser().resolve()
        cache = (
            StepCache(cache_dir, self.cache_max_bytes, max_file_bytes=self.cache_max_file_bytes)
            if self.cache_max_bytes > 0
            else None
        )
        provenance = ProvenanceStore(store)
        caching = Caching(cache, provenance)
        output_limit = OutputLimit(self.notebook_output_max_bytes, self.notebook_output_max_lines)
        # A file saved from JupyterLab while a step executes is the user's, not the step's.
        assert self.serverapp is not None
        self.serverapp.contents_manager.register_post_save_hook(  # type: ignore[no-untyped-call]
            lambda os_path, **_: caching.windows.note_foreign_write(Path(os_path))
        )
        self.sessions = SessionService(
            pipelines,
            self.builds,
            events,
            data_dir=data_dir,
            grace_period=self.kernel_grace_period,
        )
        self.runs = RunService(
            pipelines,
            store,
            executor,
            parallelism=self.max_parallel_steps,
            data_dir=data_dir,
            observer=events,
            caching=caching,
            provenance=provenance,
            executors=executors,
            sessions=self.sessions,
            output_limit=output_limit,
        )
        self.sessions.on_stop(self.runs.cancel_pipeline_run)
        self.jobs = JobService(
            pipelines,
            store,
            executor,
            JobSettings(
                data_dir=data_dir,
                parallelism=self.max_parallel_steps,
                max_runs_per_job=self.max_job_runs,
                max_concurrent_runs=self.max_concurrent_job_runs,
                output_limit=output_limit,
            ),
            events,
            caching=caching,
            provenance=provenance,
            run_sessions=RunSessionSettings(
                # On Ray, steps run on its workers: services run as processes here, since a
                # run's own containers would take its steps off Ray.
                builds=self.builds
                if self.builds.backends.enabled and not self.ray_address
                else None,
                shared=executor,
                ports=self.sessions.ports,  # the interactive sessions' services take ports too
                grace_period=self.kernel_grace_period,
            ),
        )
        self._scheduler: asyncio.Task[None] | None = None
        self.settings.update(
            orchest_pipelines=pipelines,
            orchest_runs=self.runs,
            orchest_jobs=self.jobs,
            orchest_environments=EnvironmentService(pipelines, self.builds),
            orchest_events=events,
            orchest_sessions=self.sessions,
            orchest_variables=VariableService(pipelines),
            orchest_provenance=ProvenanceService(provenance, cache),
        )

    def _builds(self, root_dir: Path, store: RunStore, events: EventHub) -> Builds:
        settings = default_settings(
            self.environment_backend,
            base_images=self.base_images,
            grace_period=self.kernel_grace_period,
            ca_bundle=Path(self.build_ca_bundle).expanduser() if self.build_ca_bundle else None,
            pip_config=Path(self.build_pip_config).expanduser() if self.build_pip_config else None,
            carry_proxy=self.build_carry_proxy,
        )
        # Each built environment's kernel appears in JupyterLab's launcher and kernel picker.
        kernels = kernelspecs_dir()
        assert self.serverapp is not None
        spec_manager = self.serverapp.kernel_spec_manager
        if spec_manager is not None and str(kernels) not in spec_manager.kernel_dirs:
            spec_manager.kernel_dirs = [*spec_manager.kernel_dirs, str(kernels)]

        def label(project_dir: Path) -> str:
            if project_dir.is_relative_to(root_dir):
                relative = project_dir.relative_to(root_dir).as_posix()
                return "" if relative == "." else relative
            return str(project_dir)

        return Builds(
            BackendChoice(settings),
            BuildStore(store),
            KernelspecFolder(kernels),
            observer=events,
            label=label,
        )

    def initialize_handlers(self) -> None:
        self.handlers.extend(api_routes())

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        if self._serving:
            self._scheduler = asyncio.ensure_future(
                self.jobs.run_scheduler(self.scheduler_interval)
            )

    async def stop_extension(self) -> None:
        if not self._serving:
            return
        if self._scheduler is not None:
            self._scheduler.cancel()
        await self.jobs.shutdown()
        await self.sessions.shutdown()  # each cancels its pipeline's run first
        await self.runs.shutdown()
        await self.builds.shutdown()
