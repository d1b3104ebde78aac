"""Interactive sessions, one per pipeline file: start, stop, look up, and the executor a
pipeline's interactive runs use."""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from ..engine.model import StepExecutor
from ..environments.builds import Builds
from ..projects import MalformedVariables, read_variables, session_variables
from ..services.errors import Conflict, NotFound
from ..services.pipelines import PipelineFile, PipelineService
from .definitions import INTERACTIVE, services_in_scope
from .model import SessionChanged, SessionState
from .ports import PortLeases
from .session import Session


class SessionObserver(Protocol):
    def session_changed(self, event: SessionChanged) -> None: ...


class SessionService:
    """See the module's docs. Sessions are keyed by their pipeline's path (as the API names
    it); `data_dir` and `grace_period` as the run service has them."""

    def __init__(
        self,
        pipelines: PipelineService,
        builds: Builds,
        observer: SessionObserver,
        *,
        data_dir: Path | None = None,
        grace_period: float = 3.0,
    ) -> None:
        self.pipelines, self.builds, self.observer = pipelines, builds, observer
        self.data_dir = data_dir
        self.grace_period = grace_period
        self.ports = PortLeases()
        """The ports services take without Docker, over every session of the server (runs'
        own sessions too, see `RunSession`)."""
        self._sessions: dict[str, Session] = {}
        self._run_stoppers: list[Callable[[str], Awaitable[None]]] = []

    def on_stop(self, stop_runs: Callable[[str], Awaitable[None]]) -> None:
        """Have `stop_runs(pipeline uuid)` cancel the pipeline's run, and return once it has
        ended, before its session stops."""
        self._run_stoppers.append(stop_runs)

    async def start(self, pipeline_path: str) -> tuple[dict[str, Any], bool]:
        """The pipeline's session, and whether it was started now (it launches in the
        background). A failed or stopping session is replaced by a new one."""
        pipeline, definition = self.pipelines.read_valid(pipeline_path)
        existing = self._sessions.get(pipeline.path)
        if existing is not None:
            if existing.state not in (SessionState.FAILED, SessionState.STOPPING):
                return existing.to_json(), False
            await self._stop(existing)
            if pipeline.path in self._sessions:  # another request started one meanwhile
                return self._sessions[pipeline.path].to_json(), False
        return self._launch(pipeline, definition).to_json(), True

    async def stop(self, pipeline_path: str) -> None:
        await self._stop(self._session(pipeline_path))

    def get(self, pipeline_path: str) -> dict[str, Any]:
        return self._session(pipeline_path).to_json()

    def list(self) -> list[dict[str, Any]]:
        return [session.to_json() for session in self._sessions.values()]

    def executor_for(
        self, pipeline: PipelineFile, definition: dict[str, Any]
    ) -> StepExecutor | None:
        """The executor of the pipeline's interactive runs: its session's. A pipeline with
        services and no session gets one started (its steps need them); one without runs
        on the server's executor (None)."""
        session = self._sessions.get(pipeline.path)
        if session is None:
            if not services_in_scope(definition, INTERACTIVE):
                return None
            session = self._launch(pipeline, definition)
        if session.state == SessionState.STOPPING:
            raise Conflict(
                "The pipeline's session is stopping: run the pipeline again once it has "
                "stopped (or start the session again)."
            )
        return session.executor

    async def shutdown(self) -> None:
        """Stop every session (the server stops)."""
        await asyncio.gather(*(self._stop(session) for session in list(self._sessions.values())))

    def _launch(self, pipeline: PipelineFile, definition: dict[str, Any]) -> Session:
        project_dir = self.pipelines.root_dir / pipeline.project
        pipeline_uuid = definition["uuid"]
        try:
            user_variables = read_variables(project_dir).for_pipeline(pipeline_uuid)
        except MalformedVariables as error:
            raise Conflict(str(error)) from None
        pipeline_file = self.pipelines.root_dir / pipeline.path
        session = Session(
            pipeline_path=pipeline.path,
            project=pipeline.project,
            definition=definition,
            root_dir=self.pipelines.root_dir,
            data_dir=self.data_dir,
            builds=self.builds,
            grace_period=self.grace_period,
            publish=self.observer.session_changed,
            ports=self.ports,
            user_variables=user_variables,
            orchest_variables=session_variables(project_dir, pipeline_file, pipeline_uuid),
        )
        self._sessions[pipeline.path] = session
        session.launch()
        return session

    async def _stop(self, session: Session) -> None:
        await session.stop(self._stop_runs)
        if self._sessions.get(session.pipeline_path) is session:
            del self._sessions[session.pipeline_path]

    async def _stop_runs(self, pipeline_uuid: str) -> None:
        await asyncio.gather(*(stop(pipeline_uuid) for stop in self._run_stoppers))

    def _session(self, pipeline_path: str) -> Session:
        key = self.pipelines.api_path(self.pipelines.resolve(pipeline_path))
        session = self._sessions.get(key)
        if session is None:
            raise NotFound(f"The pipeline '{pipeline_path}' has no session.")
        return session
