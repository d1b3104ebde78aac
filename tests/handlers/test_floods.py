"""Steps that print floods, against a real server and real kernels (20 MB here; the benchmark
in bench/ measures 200 MB): the notebook keeps a little and says where the rest is, a client
that does not read its events gets a marker instead of an unbounded backlog, and the log route
reads the whole log in pages or in one streamed answer."""

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from support import FINISHED_RUN_STATES, make_step, pipeline_writer

ApiCall = Any
LINE = "é" + "x" * 98 + "\n"  # 101 bytes in UTF-8: pages must not cut the é
LINES = 200_000  # 20 MB
FLOOD = f"line = {LINE!r}\nfor _ in range({LINES}):\n    print(line, end='')\n"
CAP = 64 * 1024


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_orchest": True}},
        "OrchestApp": {"environment_backend": "none", "notebook_output_max_bytes": CAP},
    }


def notebook(source: str) -> str:
    cell = {"cell_type": "code", "metadata": {}, "source": source, "outputs": []}
    return json.dumps(
        {
            "cells": [cell | {"execution_count": None}],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )


async def finished(api: ApiCall, run_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        _, run = await api("GET", "runs", run_id)
        if run["state"] in FINISHED_RUN_STATES:
            return dict(run)
        assert time.monotonic() < deadline, run
        await asyncio.sleep(0.2)


async def log_bytes(jp_fetch: Any, run_id: str, step: str, **params: int) -> tuple[bytes, int]:
    response = await jp_fetch(
        "orchest",
        "api",
        "runs",
        run_id,
        "steps",
        step,
        "log",
        params={name: str(value) for name, value in params.items()},
    )
    return response.body, int(response.headers["X-Orchest-Log-Size"])


async def test_a_flooding_notebook_and_a_client_that_reads_nothing(
    api: ApiCall, jp_root_dir: Path, jp_ws_fetch: Any, jp_fetch: Any
) -> None:
    pipeline_writer(jp_root_dir)(
        [make_step("flood", "flood.ipynb", [])], {"flood.ipynb": notebook(FLOOD)}
    )
    socket = await jp_ws_fetch("orchest", "api", "events", params={"pipeline": "pipeline-1"})
    _, run = await api("POST", "runs", body={"pipeline": "test.orchest"})
    run = await finished(api, run["id"])  # meanwhile the socket is not read
    assert run["state"] == "SUCCESS", run

    # The notebook kept the start of the output, and says where the rest is.
    path = jp_root_dir / "flood.ipynb"
    assert path.stat().st_size < 2 * CAP
    outputs = json.loads(path.read_text())["cells"][0]["outputs"]
    kept, note = ("".join(output["text"]) for output in outputs)
    assert kept == LINE * (CAP // len(LINE.encode()))
    log_file = f".orchest/pipelines/pipeline-1/runs/{run['id']}/logs/flood.log"
    assert f"more are in the step's log, {log_file}" in note
    assert (jp_root_dir / log_file).stat().st_size == LINES * len(LINE.encode())

    # The events: in order, and where the client's queue overflowed, a marker saying from
    # which byte of the log to read again; the run's end is never lost.
    events = []
    while not events or events[-1]["type"] != "run" or events[-1]["state"] != "SUCCESS":
        events.append(json.loads(await asyncio.wait_for(socket.read_message(), 30)))
    socket.close()
    position = 0
    markers = []
    for event in events:
        if event["type"] == "log" and not markers:
            assert event["offset"] == position
            position += len(event["text"].encode())
        elif event["type"] == "log_skipped":
            assert event["step_uuid"] == "flood" and event["run_id"] == run["id"]
            markers.append(event)
    assert markers and markers[0]["offset"] == position < LINES * len(LINE.encode())
    body, size = await log_bytes(jp_fetch, run["id"], "flood", offset=position)
    assert size == LINES * len(LINE.encode()) == position + len(body)


async def test_the_log_route_reads_a_large_log_in_pages_or_whole(
    api: ApiCall, jp_root_dir: Path, jp_fetch: Any
) -> None:
    pipeline_writer(jp_root_dir)([make_step("flood", "flood.py", [])], {"flood.py": FLOOD})
    _, run = await api("POST", "runs", body={"pipeline": "test.orchest"})
    run = await finished(api, run["id"])
    assert run["state"] == "SUCCESS", run
    whole, size = await log_bytes(jp_fetch, run["id"], "flood")
    assert whole == LINE.encode() * LINES and size == len(whole)

    pages, offset = [], 0
    while offset < size:
        page, _ = await log_bytes(jp_fetch, run["id"], "flood", offset=offset, limit=1_000_000)
        page.decode()  # a page never cuts a character
        assert 0 < len(page) <= 1_000_000
        pages.append(page)
        offset += len(page)
    assert b"".join(pages) == whole and len(pages) == 21

    end, _ = await log_bytes(jp_fetch, run["id"], "flood", offset=size)
    assert end == b""
    status, nothing = await api(
        "GET", "runs", run["id"], "steps", "flood", "log", params={"offset": str(size)}
    )
    assert (status, nothing) == (200, "")  # text, even when empty
    huge, _ = await log_bytes(jp_fetch, run["id"], "flood", limit=10**12)
    assert len(huge) == 16 << 20  # a page is capped
    for bad in ("-", "1.5", "lots"):
        status, reply = await api(
            "GET", "runs", run["id"], "steps", "flood", "log", params={"limit": bad}
        )
        assert status == 400 and "`limit` must be a whole number of bytes" in reply["message"]
