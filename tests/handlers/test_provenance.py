"""Caching and provenance through the REST API, against a real server and real processes."""

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from support import FINISHED_RUN_STATES, make_step, pipeline_writer

ApiCall = Any


async def wait_for_run(api: ApiCall, run_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        _, found = await api("GET", "runs", run_id)
        if found["state"] in FINISHED_RUN_STATES:
            return dict(found)
        assert time.monotonic() < deadline, f"run still {found['state']}"
        await asyncio.sleep(0.05)


def write_chain(root: Path) -> None:
    pipeline_writer(root)(
        [make_step("load", "load.py", []), make_step("train", "train.py", ["load"])],
        {
            "load.py": "import orchest\norchest.output(41, name='n')\n",
            "train.py": "import orchest\nprint('trained', orchest.get_inputs()['n'] + 1)\n",
        },
    )


async def run(api: ApiCall, **body: Any) -> dict[str, Any]:
    status, started = await api("POST", "runs", body={"pipeline": "test.orchest", **body})
    assert status == 201, started
    finished = await wait_for_run(api, started["id"])
    assert finished["state"] == "SUCCESS", finished
    return finished


def by_uuid(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["uuid"]: step for step in run["steps"]}


async def test_a_second_run_comes_from_the_cache_and_says_where_from(
    api: ApiCall, jp_root_dir: Path
) -> None:
    write_chain(jp_root_dir)
    first = await run(api)
    assert [s["cached"] for s in first["steps"]] == [False, False]
    assert by_uuid(first)["load"]["reasons"] == ["not run before"]

    second = await run(api)
    assert [(s["cached"], s["reasons"]) for s in second["steps"]] == [(True, []), (True, [])]

    status, record = await api("GET", "runs", second["id"], "steps", "train", "provenance")
    assert status == 200
    assert record["cached"] and record["source_run_id"] == first["id"]
    assert record["state"] == "COMPUTED" and record["key"] and record["host"]
    (parent,) = record["inputs"]
    assert parent["step_uuid"] == "load" and parent["title"] == "Load"
    assert parent["run_id"] == second["id"]  # restored by this run
    # The executions are those of the run that computed the result.
    (execution,) = record["executions"]
    assert execution["success"] and "trained 42" in execution["stdout"]

    forced = await run(api, force=True, type="selection", steps=["train"])
    (train,) = forced["steps"]
    assert (train["cached"], train["reasons"]) == (False, ["forced"])


async def test_the_cache_can_be_measured_and_cleared(api: ApiCall, jp_root_dir: Path) -> None:
    write_chain(jp_root_dir)
    await run(api)
    status, usage = await api("GET", "cache")
    assert status == 200 and usage["enabled"] and usage["entries"] == 2 and usage["bytes"] > 0
    status, cleared = await api("DELETE", "cache")
    assert status == 200 and cleared["removed"]["entries"] == 2
    _, usage = await api("GET", "cache")
    assert usage["entries"] == 0 and usage["bytes"] == 0
    again = await run(api)
    assert by_uuid(again)["load"]["reasons"] == ["its cached result is gone (evicted or cleared)"]


async def test_provenance_of_a_step_that_did_not_run_is_not_found(
    api: ApiCall, jp_root_dir: Path
) -> None:
    status, body = await api("GET", "runs", "nosuchrun", "steps", "load", "provenance")
    assert status == 404 and "no provenance" in body["message"]


async def test_provenance_lists_the_files_a_step_wrote(api: ApiCall, jp_root_dir: Path) -> None:
    pipeline_writer(jp_root_dir)(
        [make_step("write", "write.py", [])],
        {
            "write.py": (
                "import os\n"
                "open('result.json', 'w').write('{\"ok\": true}')\n"
                "data = os.environ['ORCHEST_DATA_DIR']\n"
                "open(os.path.join(data, 'model.bin'), 'wb').write(b'0' * 100)\n"
            )
        },
    )
    first = await run(api)
    status, record = await api("GET", "runs", first["id"], "steps", "write", "provenance")
    assert status == 200
    files = {(f["root"], f["path"]): f for f in record["files"]}
    assert set(files) == {("project", "result.json"), ("data", "model.bin")}
    assert files[("data", "model.bin")]["size"] == 100
    assert len(files[("data", "model.bin")]["digest"]) == 64
    assert files[("data", "model.bin")]["shared_with"] == []
    assert record["not_cached"] == ""

    (jp_root_dir / "data" / "model.bin").unlink()
    second = await run(api)
    assert second["steps"][0]["cached"]
    assert (jp_root_dir / "data" / "model.bin").read_bytes() == b"0" * 100
    _, restored = await api("GET", "runs", second["id"], "steps", "write", "provenance")
    assert restored["files"] == record["files"]


async def test_a_file_saved_in_jupyterlab_while_a_step_runs_is_not_the_steps(
    api: ApiCall, jp_fetch: Any, jp_root_dir: Path
) -> None:
    pipeline_writer(jp_root_dir)(
        [make_step("slow", "slow.py", [])],
        {"slow.py": "import time\nopen('out.txt', 'w').write('out')\ntime.sleep(2)\n"},
    )
    status, started = await api("POST", "runs", body={"pipeline": "test.orchest"})
    assert status == 201
    while (await api("GET", "runs", started["id"]))[1]["steps"][0]["state"] != "RUNNING":
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    saved = {"type": "file", "format": "text", "content": "my notes"}
    response = await jp_fetch("api", "contents", "notes.txt", method="PUT", body=json.dumps(saved))
    assert response.code == 201
    finished = await wait_for_run(api, started["id"])
    assert finished["state"] == "SUCCESS"
    _, record = await api("GET", "runs", started["id"], "steps", "slow", "provenance")
    assert [f["path"] for f in record["files"]] == ["out.txt"]

    # Edited later, the notes are not taken back to what they were when the step ran.
    (jp_root_dir / "notes.txt").write_text("my notes, edited")
    again = await run(api)
    assert again["steps"][0]["cached"]
    assert (jp_root_dir / "notes.txt").read_text() == "my notes, edited"
