"""Sessions over REST and the event WebSocket, with real kernels and real runs (environments
off: the session's executor is a local one)."""

from pathlib import Path
from typing import Any

from sessions.helpers import (
    PIPELINE,
    alive,
    descendants,
    events_until,
    finished_run,
    notebook,
    session_in,
    step_log,
    until,
    write_pipeline,
)

from support import make_step

ApiCall = Any
SLOW_STEP = """\
import os, time
print("in session", "ORCHEST_SESSION_SERVICES" in os.environ, flush=True)
time.sleep(300)
"""


def notebook_pipeline(project: Path) -> None:
    write_pipeline(
        project,
        [make_step("nb", "nb.ipynb", [])],
        {"nb.ipynb": notebook(["import os\nprint('kernel pid', os.getpid())"])},
    )


def warm(session: dict[str, Any]) -> bool:
    return session["state"] == "RUNNING" and session["environments"][0]["kernels"] >= 1


async def test_start_list_get_and_stop_a_session(
    api: ApiCall, jp_root_dir: Path, jp_ws_fetch: Any
) -> None:
    notebook_pipeline(jp_root_dir)
    socket = await jp_ws_fetch("orchest", "api", "events")
    status, started = await api("POST", "pipeline-sessions", body={"pipeline_path": PIPELINE})
    assert status == 201
    assert started["state"] == "LAUNCHING" and started["pipeline_path"] == PIPELINE
    assert started["pipeline_uuid"] == "pipeline-1" and started["pipeline_name"] == "test"
    assert started["project"] == "" and started["started_at"]

    status, again = await api("POST", "pipeline-sessions", body={"pipeline_path": f"/{PIPELINE}"})
    assert status == 200 and again["started_at"] == started["started_at"]

    session = await until(api, warm)
    assert session["environments"] == [
        {"uuid": "", "name": "The server's kernels", "state": "READY", "message": "", "kernels": 1}
    ]
    assert session["services"] == []
    status, listing = await api("GET", "pipeline-sessions")
    assert status == 200 and [s["pipeline_path"] for s in listing["sessions"]] == [PIPELINE]

    status, body = await api("DELETE", "pipeline-sessions", PIPELINE)
    assert status == 204 and body is None
    status, body = await api("GET", "pipeline-sessions", PIPELINE)
    assert status == 404 and PIPELINE in body["message"]
    assert (await api("DELETE", "pipeline-sessions", PIPELINE))[0] == 404
    assert (await api("GET", "pipeline-sessions"))[1] == {"sessions": []}

    events = await events_until(socket, lambda e: e["session"]["state"] == "STOPPED")
    socket.close()
    assert {event["type"] for event in events} == {"session"}
    states = [event["session"]["state"] for event in events]
    assert states[0] == "LAUNCHING" and states[-2:] == ["STOPPING", "STOPPED"]
    assert "RUNNING" in states
    kernels = [[e["kernels"] for e in event["session"]["environments"]] for event in events]
    assert kernels[0] == [] and [1] in kernels


async def test_warm_kernels_are_there_after_start_and_gone_after_stop(
    api: ApiCall, jp_root_dir: Path
) -> None:
    notebook_pipeline(jp_root_dir)
    before = descendants()
    await api("POST", "pipeline-sessions", body={"pipeline_path": PIPELINE})
    await until(api, warm)
    started = descendants() - before
    # The fork server, and the kernel forked from it.
    assert len(started) >= 2, started

    _, run = await api("POST", "runs", body={"pipeline": PIPELINE})
    run = await finished_run(api, run["id"])
    assert run["state"] == "SUCCESS", run
    kernel_pid = int((await step_log(api, run)).split("kernel pid")[1].split()[0])
    assert kernel_pid in started, "the run used one of the session's warm kernels"
    # Another kernel is made ready for the next run.
    await until(api, warm)

    await api("DELETE", "pipeline-sessions", PIPELINE)
    assert alive(descendants() - before) == set()


async def test_a_run_uses_the_session_and_stopping_cancels_it(
    api: ApiCall, jp_root_dir: Path
) -> None:
    write_pipeline(
        jp_root_dir,
        [make_step("slow", "slow.py", [])],
        {"slow.py": SLOW_STEP},
    )
    before = descendants()
    await api("POST", "pipeline-sessions", body={"pipeline_path": PIPELINE})
    _, run = await api("POST", "runs", body={"pipeline": PIPELINE})

    async def printed(_: Any) -> bool:
        return "in session True" in await step_log(api, run)

    while not await printed(None):
        await session_in(api, ("LAUNCHING", "RUNNING"))
    assert alive(descendants() - before), "the step runs"

    status, _ = await api("DELETE", "pipeline-sessions", PIPELINE)
    assert status == 204
    _, run = await api("GET", "runs", run["id"])  # over already: the stop waited for it
    assert run["state"] == "ABORTED" and run["steps"][0]["state"] == "ABORTED"
    assert alive(descendants() - before) == set()


async def test_a_run_without_a_session_or_services_starts_none(
    api: ApiCall, jp_root_dir: Path
) -> None:
    write_pipeline(jp_root_dir, [make_step("a", "a.py", [])], {"a.py": "print('ran')"})
    _, run = await api("POST", "runs", body={"pipeline": PIPELINE})
    assert (await finished_run(api, run["id"]))["state"] == "SUCCESS"
    assert (await api("GET", "pipeline-sessions"))[1] == {"sessions": []}


async def test_bad_session_requests_are_refused_clearly(api: ApiCall, jp_root_dir: Path) -> None:
    write_pipeline(jp_root_dir, [make_step("a", "a.py", ["a"])], {"a.py": ""})
    cases = [
        ({}, 400, "pipeline_path"),
        ({"pipeline_path": 3}, 400, "pipeline_path"),
        ({"pipeline_path": "missing.orchest"}, 404, "missing.orchest"),
        ({"pipeline_path": "a.py"}, 400, ".orchest"),
        ({"pipeline_path": "../up.orchest"}, 400, "'..'"),
        ({"pipeline_path": PIPELINE}, 400, "connect"),  # the step is its own parent
    ]
    for body, code, mentioned in cases:
        status, reply = await api("POST", "pipeline-sessions", body=body)
        assert status == code, (body, reply)
        assert mentioned in reply["message"] or reply.get("issues"), (body, reply)
    status, reply = await api("POST", "pipeline-sessions", body="[1]")
    assert status == 400 and "JSON object" in reply["message"]
    assert (await api("GET", "pipeline-sessions"))[1] == {"sessions": []}
