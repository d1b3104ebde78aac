"""Runs of one project's pipeline through the engine with caching: real kernels and
processes, a real cache folder and a real SQLite database, and what each run did."""

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_orchest.engine.cache import DEFAULT_CACHE_MAX_FILE_BYTES, StepCache
from jupyter_orchest.engine.caching import Caching
from jupyter_orchest.engine.events import RunChanged, StepChanged, StepLogged
from jupyter_orchest.engine.executors import LocalExecutor
from jupyter_orchest.engine.launch import RunLayout, prepare_run
from jupyter_orchest.engine.model import RunState, StepState
from jupyter_orchest.engine.planning import RunType, plan_run
from jupyter_orchest.pipeline import parse_definition
from jupyter_orchest.store import RunStore
from jupyter_orchest.store.database import sqlite_url
from jupyter_orchest.store.provenance import ProvenanceStore


def notebook(*cells: tuple[str, str], kernel: str = "python3") -> str:
    """A notebook of (cell type, source) cells."""
    return json.dumps(
        {
            "cells": [
                {"cell_type": kind, "metadata": {}, "source": source}
                | ({"outputs": [], "execution_count": None} if kind == "code" else {})
                for kind, source in cells
            ],
            "metadata": {"kernelspec": {"name": kernel, "display_name": "Python 3"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )


@dataclass
class Outcome:
    state: RunState
    run_id: str
    steps: dict[str, StepChanged] = field(default_factory=dict)
    logs: list[StepLogged] = field(default_factory=list)

    @property
    def cached(self) -> set[str]:
        return {uuid for uuid, event in self.steps.items() if event.cached}

    @property
    def computed(self) -> set[str]:
        return {
            uuid
            for uuid, event in self.steps.items()
            if event.state == StepState.COMPUTED and not event.cached
        }

    def reasons(self, uuid: str) -> tuple[str, ...]:
        return self.steps[uuid].reasons

    def run_changed(self, event: RunChanged) -> None:
        pass

    def step_changed(self, event: StepChanged) -> None:
        if event.state.finished:
            self.steps[event.step_uuid] = event

    def step_logged(self, event: StepLogged) -> None:
        self.logs.append(event)


class Runs:
    """Runs a project's pipeline again and again, with one cache and one database (those in
    `tmp_path`, so that runs of copies of the project share them); run ids start with
    `prefix`. The data folder is the project's `data` folder unless given."""

    def __init__(
        self,
        project: Path,
        tmp_path: Path,
        max_bytes: int = 1 << 30,
        *,
        max_file_bytes: int = DEFAULT_CACHE_MAX_FILE_BYTES,
        data_dir: Path | None = None,
        prefix: str = "run",
    ) -> None:
        self.project = project
        self.data_dir = data_dir or project / "data"
        self.cache = StepCache(tmp_path / "cache", max_bytes, max_file_bytes=max_file_bytes)
        self.ledger = ProvenanceStore(RunStore(sqlite_url(tmp_path / "orchest.db")))
        self.prefix = prefix
        self.count = 0

    def __call__(
        self,
        *,
        overrides: dict[str, Any] | None = None,
        force: bool = False,
        selection: list[str] | None = None,
        executor: LocalExecutor | None = None,
    ) -> Outcome:
        pipeline_file = self.project / "test.orchest"
        definition = parse_definition(pipeline_file.read_text())
        self.count += 1
        run_id = f"{self.prefix}{self.count}"
        layout = RunLayout.interactive(
            self.project, pipeline_file, definition["uuid"], run_id, self.data_dir
        )
        outcome = Outcome(RunState.PENDING, run_id)
        kind = RunType.SELECTION if selection else RunType.ALL

        async def go() -> RunState:
            runner_executor = executor or LocalExecutor(grace_period=1.0)
            runner = prepare_run(
                definition=definition,
                plan=plan_run(definition, pipeline_file, kind, selection),
                layout=layout,
                executor=runner_executor,
                observer=outcome,
                parallelism=2,
                overrides=overrides,
                caching=Caching(self.cache, self.ledger),
                force=force,
            )
            await runner_executor.start()
            try:
                return await runner.run()
            finally:
                await runner_executor.shutdown()

        outcome.state = asyncio.run(go())
        return outcome
