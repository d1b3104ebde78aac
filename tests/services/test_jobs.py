"""Jobs with real runs: real scripts in real processes, the real store on SQLite and
PostgreSQL."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest

from jupyter_orchest.engine.events import NoOpObserver
from jupyter_orchest.engine.executors import LocalExecutor
from jupyter_orchest.services.errors import BadRequest, Conflict, NotFound
from jupyter_orchest.services.jobs import JobService, JobSettings
from jupyter_orchest.services.pipelines import PipelineService
from jupyter_orchest.store import RunStore
from support import make_step, pipeline_writer

T = TypeVar("T")

# A script step that writes the parameters it saw where the test can read them.
RECORD = """\
import json, orchest
with open("seen.json", "w") as file:
    seen = {"alpha": orchest.get_pipeline_param("alpha"), "n": orchest.get_step_param("n")}
    json.dump(seen, file)
print("alpha", orchest.get_pipeline_param("alpha"))
"""


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 12, 0, 30, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def root(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / ".orchest").mkdir(parents=True)
    pipeline_writer(project)(
        [make_step("record", "record.py", [], parameters={"n": 1})],
        {"record.py": RECORD},
        parameters={"alpha": 0.1},
    )
    return tmp_path


def with_jobs(
    root: Path,
    database_url: str,
    clock: Clock,
    test: Callable[[JobService], Awaitable[T]],
    **settings: Any,
) -> T:
    async def main() -> T:
        store = RunStore(database_url)
        async with LocalExecutor(pool_size=0, standby_kernels=0) as executor:
            jobs = JobService(
                PipelineService(root),
                store,
                executor,
                JobSettings(
                    **{
                        "data_dir": None,
                        "parallelism": 2,
                        "max_runs_per_job": 20,
                        "max_concurrent_runs": 3,
                        **settings,
                    }
                ),
                NoOpObserver(),
                clock,
            )
            try:
                return await test(jobs)
            finally:
                await jobs.shutdown()

    return asyncio.run(main())


async def until_finished(jobs: JobService, job_id: str, runs: int) -> dict[str, Any]:
    for _ in range(1200):
        job = jobs.get(job_id)
        states = [run["state"] for run in job["runs"]]
        if len(states) >= runs and all(s in ("SUCCESS", "FAILURE", "ABORTED") for s in states):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"the job's runs did not finish: {jobs.get(job_id)}")


def seen(root: Path, job: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        json.loads((root / run["folder"] / "seen.json").read_text())
        for run in sorted(job["runs"], key=lambda run: run["number"])
    ]


def test_a_two_by_three_grid_runs_six_times_each_with_its_parameters(
    root: Path, database_url: str
) -> None:
    async def test(jobs: JobService) -> dict[str, Any]:
        job = await jobs.create(
            {
                "pipeline_path": "project/test.orchest",
                "name": "sweep",
                "parameters": {
                    "pipeline": {"alpha": [0.1, 0.2]},
                    "steps": {"record": {"n": [1, 2, 3]}},
                },
            }
        )
        return await until_finished(jobs, job["id"], 6)

    job = with_jobs(root, database_url, Clock(), test)

    assert job["status"] == "SUCCESS"
    assert [run["state"] for run in job["runs"]] == ["SUCCESS"] * 6
    assert seen(root, job) == [{"alpha": alpha, "n": n} for alpha in (0.1, 0.2) for n in (1, 2, 3)]
    # The user's own files are never touched by a job.
    assert not (root / "project" / "seen.json").exists()
    definition = json.loads((root / "project" / "test.orchest").read_text())
    assert definition["parameters"] == {"alpha": 0.1}


def test_a_schedule_fires_on_time_once_per_slot_and_once_after_downtime(
    root: Path, database_url: str
) -> None:
    clock = Clock()

    async def test(jobs: JobService) -> list[dict[str, Any]]:
        job = await jobs.create(
            {"pipeline_path": "project/test.orchest", "cron": "* * * * *", "timezone": "UTC"}
        )
        assert job["status"] == "PENDING" and job["runs"] == []
        assert job["next_fire_at"] == "2026-11-22T12:01:00+00:00"
        jobs.tick()  # not due yet
        clock.now += timedelta(seconds=30)  # 12:01:00, the first slot
        jobs.tick()
        jobs.tick()  # the same slot again: nothing more
        first = await until_finished(jobs, job["id"], 1)
        clock.now += timedelta(hours=2, seconds=15)  # the server was down two hours
        jobs.tick()
        jobs.tick()
        second = await until_finished(jobs, job["id"], 2)
        return [first, second]

    first, second = with_jobs(root, database_url, clock, test)

    assert [run["slot"] for run in first["runs"]] == ["2026-11-22T12:01:00+00:00"]
    assert first["status"] == "STARTED"
    assert [run["slot"] for run in second["runs"]] == [
        "2026-11-22T12:01:00+00:00",
        "2026-11-22T14:01:00+00:00",
    ]
    assert second["next_fire_at"] == "2026-11-22T14:02:00+00:00"


def test_the_scheduler_fires_a_due_slot_by_itself(root: Path, database_url: str) -> None:
    clock = Clock()

    async def test(jobs: JobService) -> dict[str, Any]:
        job = await jobs.create({"pipeline_path": "project/test.orchest", "cron": "* * * * *"})
        scheduler = asyncio.ensure_future(jobs.run_scheduler(interval=0.05))
        try:
            await asyncio.sleep(0.2)
            assert jobs.get(job["id"])["runs"] == []
            clock.now += timedelta(seconds=30)  # the slot at 12:01 comes
            return await until_finished(jobs, job["id"], 1)
        finally:
            scheduler.cancel()

    job = with_jobs(root, database_url, clock, test)

    assert [run["slot"] for run in job["runs"]] == ["2026-11-22T12:01:00+00:00"]


def test_a_schedule_survives_a_restart_of_the_server(root: Path, database_url: str) -> None:
    clock = Clock()

    async def create(jobs: JobService) -> str:
        job = await jobs.create({"pipeline_path": "project/test.orchest", "cron": "*/5 * * * *"})
        return str(job["id"])

    job_id = with_jobs(root, database_url, clock, create)
    clock.now += timedelta(minutes=12)  # down over two slots: 12:05 and 12:10

    async def after_restart(jobs: JobService) -> dict[str, Any]:
        jobs.tick()
        return await until_finished(jobs, job_id, 1)

    job = with_jobs(root, database_url, clock, after_restart)

    assert [run["slot"] for run in job["runs"]] == ["2026-11-22T12:10:00+00:00"]
    assert job["next_fire_at"] == "2026-11-22T12:15:00+00:00"


def test_pause_resume_and_cancel(root: Path, database_url: str) -> None:
    clock = Clock()

    async def test(jobs: JobService) -> None:
        job = await jobs.create({"pipeline_path": "project/test.orchest", "cron": "0 * * * *"})
        job_id = job["id"]
        assert jobs.pause(job_id)["status"] == "PAUSED"
        clock.now += timedelta(hours=3)
        jobs.tick()
        assert jobs.get(job_id)["runs"] == []  # paused jobs make no runs
        resumed = jobs.resume(job_id)
        assert resumed["status"] == "PENDING"
        assert resumed["next_fire_at"] == "2026-11-22T16:00:00+00:00"  # missed slots skipped
        cancelled = jobs.cancel(job_id)
        assert cancelled["status"] == "ABORTED" and cancelled["next_fire_at"] is None
        with pytest.raises(Conflict):
            jobs.resume(job_id)

    with_jobs(root, database_url, clock, test)


def test_retention_removes_the_oldest_runs_and_their_folders(root: Path, database_url: str) -> None:
    async def test(jobs: JobService) -> dict[str, Any]:
        job = await jobs.create(
            {
                "pipeline_path": "project/test.orchest",
                "parameters": {"pipeline": {"alpha": [1, 2, 3, 4]}},
                "max_retained_runs": 2,
            }
        )
        await jobs.wait_for_runs(job["id"])
        return jobs.get(job["id"])

    job = with_jobs(root, database_url, Clock(), test, max_concurrent_runs=1)

    assert [run["number"] for run in job["runs"]] == [2, 3]
    runs_folder = root / job["runs"][0]["folder"]
    assert sorted(path.name for path in runs_folder.parent.iterdir()) == sorted(
        run["id"] for run in job["runs"]
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"cron": "every minute"}, "not a valid cron schedule"),
        ({"parameters": {"pipeline": {"alpha": 0.3}}}, "must be a list"),
        ({"parameters": {"pipeline": {"alpha": list(range(30))}}}, "more than the limit of 20"),
        ({"env_variables": {"1X": "a"}}, "`env_variables.1X`: not a valid variable name"),
        ({"env_variables": {"PATH": "/x"}}, "`env_variables.PATH`: this name is the engine's"),
        ({"start_at": "tomorrow"}, "date and time with its offset"),
        ({"max_retained_runs": -1}, "whole number"),
    ],
)
def test_bad_jobs_are_refused_before_anything_is_made(
    root: Path, database_url: str, body: dict[str, Any], message: str
) -> None:
    async def test(jobs: JobService) -> list[dict[str, Any]]:
        with pytest.raises(BadRequest, match=message):
            await jobs.create({"pipeline_path": "project/test.orchest", **body})
        return jobs.list()

    assert with_jobs(root, database_url, Clock(), test) == []
    assert not (root / "project" / ".orchest" / "jobs").exists()


def test_a_past_run_can_be_read_and_turned_back_into_an_editable_project(
    root: Path, database_url: str
) -> None:
    async def test(jobs: JobService) -> tuple[Path, dict[str, str]]:
        job = await jobs.create(
            {"pipeline_path": "project/test.orchest", "parameters": {"pipeline": {"alpha": [7]}}}
        )
        run = (await until_finished(jobs, job["id"], 1))["runs"][0]
        with pytest.raises(NotFound):
            jobs.run_file(job["id"], run["id"], "../../../../test.orchest")
        with pytest.raises(Conflict):
            await jobs.restore(job["id"], run["id"], "project")
        return jobs.run_file(job["id"], run["id"], "seen.json"), await jobs.restore(
            job["id"], run["id"], "restored"
        )

    seen_file, restored = with_jobs(root, database_url, Clock(), test)

    assert json.loads(seen_file.read_text()) == {"alpha": 7, "n": 1}
    assert restored == {"folder": "restored"}
    definition = json.loads((root / "restored" / "test.orchest").read_text())
    assert definition["parameters"] == {"alpha": 7}
    assert not (root / "restored" / ".orchest" / "pipelines").exists()


def test_a_server_with_another_root_neither_shows_nor_fires_the_jobs_of_this_one(
    root: Path, database_url: str, tmp_path: Path
) -> None:
    clock = Clock()

    async def create(jobs: JobService) -> str:
        job = await jobs.create({"pipeline_path": "project/test.orchest", "cron": "* * * * *"})
        return str(job["id"])

    job_id = with_jobs(root, database_url, clock, create)
    other_root = tmp_path / "elsewhere"
    other_root.mkdir()
    clock.now += timedelta(minutes=5)

    async def elsewhere(jobs: JobService) -> list[dict[str, Any]]:
        jobs.pipelines = PipelineService(other_root)  # same database, another root
        jobs.tick()
        with pytest.raises(NotFound):
            jobs.get(job_id)
        return jobs.list()

    assert with_jobs(root, database_url, clock, elsewhere) == []

    async def here(jobs: JobService) -> dict[str, Any]:
        return jobs.get(job_id)

    # The other server fired nothing.
    assert with_jobs(root, database_url, clock, here)["runs"] == []
