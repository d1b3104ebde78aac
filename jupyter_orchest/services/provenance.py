"""Where results came from (a step run's provenance, with its executions' logs) and the
cache's size, for the REST API."""

import asyncio
from dataclasses import asdict
from datetime import datetime
from typing import Any

from ..engine.cache import StepCache
from ..engine.provenance import StepExecutionLog, StepProvenance
from ..store.provenance import ProvenanceStore
from .errors import NotFound


def provenance_to_json(record: StepProvenance) -> dict[str, Any]:
    parts = record.parts
    return {
        "run_id": record.run_id,
        "pipeline_uuid": record.pipeline_uuid,
        "step_uuid": record.step_uuid,
        "title": record.title,
        "state": record.state,
        "message": record.message,
        "cached": record.cached,
        "source_run_id": record.source_run_id,
        "reasons": list(record.reasons),
        "key": record.key,
        "key_parts": parts.to_json(),
        "inputs": [asdict(item) for item in parts.inputs],
        "outputs": [asdict(item) for item in record.outputs],
        "outputs_digest": record.outputs_digest,
        "notebook_digest": record.notebook_digest,
        "environment_uuid": record.environment_uuid,
        "executor": record.executor,
        "host": record.host,
        "git_commit": record.git_commit,
        "project_dir": record.project_dir,
        "started_at": _iso(record.started_at),
        "finished_at": _iso(record.finished_at),
        "files": [{**asdict(file), "shared_with": list(file.shared_with)} for file in record.files],
        "not_cached": record.not_cached,
    }


def execution_to_json(log: StepExecutionLog) -> dict[str, Any]:
    return {**asdict(log), "at": _iso(log.at)}


class ProvenanceService:
    def __init__(self, store: ProvenanceStore, cache: StepCache | None) -> None:
        self.store, self.cache = store, cache

    def step(self, run_id: str, step_uuid: str) -> dict[str, Any]:
        """The step run's provenance, the executions of this run's step (none when it came
        from the cache) and, for a cached step, those of the run that computed it."""
        record = self.store.get(run_id, step_uuid)
        if record is None:
            raise NotFound(
                f"Run '{run_id}' has no provenance for step '{step_uuid}': it did not run "
                "(yet), or ran before provenance was recorded."
            )
        executions = self.store.executions(record.source_run_id, step_uuid)
        return {
            **provenance_to_json(record),
            "executions": [execution_to_json(log) for log in executions],
        }

    async def cache_usage(self) -> dict[str, Any]:
        if self.cache is None:
            return {"enabled": False, "entries": 0, "objects": 0, "bytes": 0, "max_bytes": 0}
        usage = await asyncio.to_thread(self.cache.usage)
        return {"enabled": True, **asdict(usage), "max_bytes": self.cache.max_bytes}

    async def clear_cache(self) -> dict[str, Any]:
        """Remove every cached result; says what was removed."""
        if self.cache is None:
            return {"entries": 0, "objects": 0, "bytes": 0}
        removed = await asyncio.to_thread(self.cache.clear)
        return asdict(removed)


def _iso(moment: datetime) -> str:
    return moment.isoformat()
