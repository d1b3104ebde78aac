"""A job's defaults for its steps' retries and timeout, through the REST API against a real
server: they apply to the steps that do not set their own, and a step's own value wins."""

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from support import FINISHED_RUN_STATES, make_step, pipeline_writer

ApiCall = Any
FLAKY = """\
from pathlib import Path
marker = Path("tried-" + __file__.rsplit("/", 1)[1])
if not marker.exists():
    marker.touch()
    raise SystemExit("the first attempt failed")
print("worked")
"""


async def finished_job(api: ApiCall, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        _, job = await api("GET", "jobs", job_id)
        if job["status"] in FINISHED_RUN_STATES:
            return dict(job)
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.2)


async def test_a_jobs_defaults_apply_where_a_step_has_no_value_of_its_own(
    api: ApiCall, jp_root_dir: Path
) -> None:
    pipeline_writer(jp_root_dir)(
        [
            make_step("default", "flaky.py", []),
            make_step("own", "flaky_too.py", [], retries=0),
            make_step("slow", "slow.py", []),
            make_step("patient", "patient.py", [], timeout=60),
        ],
        {
            "flaky.py": FLAKY,
            "flaky_too.py": FLAKY,
            "slow.py": "import time\ntime.sleep(300)",
            "patient.py": "import time\ntime.sleep(4)\nprint('done')",
        },
    )
    before = (jp_root_dir / "test.orchest").read_text()
    defaults = {"retries": 1, "retry_delay": 0.1, "timeout": 3}
    status, job = await api(
        "POST", "jobs", body={"pipeline_path": "test.orchest", "step_defaults": defaults}
    )
    assert status == 201, job
    job = await finished_job(api, job["id"])
    (run,) = job["runs"]
    steps = {step["uuid"]: step for step in run["steps"]}
    assert steps["default"]["state"] == "COMPUTED"  # on its second attempt
    assert steps["own"]["state"] == "FAILURE"  # its own retries: 0
    assert steps["slow"]["state"] == "FAILURE"
    assert steps["slow"]["message"] == "timed out after 3 s (attempt 2 of 2)"
    assert steps["patient"]["state"] == "COMPUTED"  # its own timeout: 60 s
    _, log = await api("GET", "runs", run["id"], "steps", "default", "log")
    assert "[attempt 2 of 2]" in log and "worked" in log

    # The run's copy of the pipeline says what its steps ran with; the user's file is as it was.
    _, copy = await api("GET", "jobs", job["id"], "runs", run["id"], "files", "test.orchest")
    assert {uuid: (s.get("retries"), s.get("timeout")) for uuid, s in copy["steps"].items()} == {
        "default": (1, 3),
        "own": (0, 3),
        "slow": (1, 3),
        "patient": (1, 60),
    }
    assert (jp_root_dir / "test.orchest").read_text() == before


@pytest.mark.parametrize(
    ("defaults", "said"),
    [
        ([1], "must be an object with any of retries, retry_delay and timeout"),
        ({"attempts": 2}, "must be an object with any of retries, retry_delay and timeout"),
        ({"retries": 1.5}, "`step_defaults.retries` must be a whole number from 0 to 100"),
        ({"retries": True}, "`step_defaults.retries` must be a whole number"),
        ({"retry_delay": -1}, "`step_defaults.retry_delay` must be a number of seconds"),
        ({"timeout": 0}, "`step_defaults.timeout` must be a number of seconds above 0"),
        ({"timeout": "1h"}, "`step_defaults.timeout` must be a number of seconds above 0"),
    ],
)
async def test_bad_step_defaults_are_refused(
    defaults: Any, said: str, api: ApiCall, jp_root_dir: Path
) -> None:
    pipeline_writer(jp_root_dir)([make_step("a", "a.py", [])], {"a.py": ""})
    body = {"pipeline_path": "test.orchest", "step_defaults": defaults}
    status, reply = await api("POST", "jobs", body=json.dumps(body))
    assert status == 400 and said in reply["message"], reply
    _, jobs = await api("GET", "jobs")
    assert jobs["jobs"] == []  # nothing was made
