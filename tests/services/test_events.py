"""A client's queue of events stays bounded however much is logged: its waiting log events
give way to markers, and no state change is ever lost."""

import asyncio
from typing import Any

from jupyter_orchest.services.events import ClientQueue


def log(step: str, offset: int, text: str = "x" * 10) -> dict[str, Any]:
    return {
        "type": "log",
        "run_id": "r",
        "pipeline_uuid": "p",
        "step_uuid": step,
        "stream": "stdout",
        "text": text,
        "offset": offset,
    }


def build_log(number: int) -> dict[str, Any]:
    return {
        "type": "build_log",
        "project": "",
        "environment_uuid": "e",
        "number": number,
        "text": "y" * 10,
    }


def state(name: str) -> dict[str, Any]:
    return {"type": "step", "run_id": "r", "step_uuid": "a", "state": name}


def test_waiting_log_events_give_way_to_one_marker_per_log() -> None:
    queue = ClientQueue(lambda _: True, max_log_bytes=25, max_log_events=100)
    queue.put(state("RUNNING"))
    queue.put(log("a", 0))
    queue.put(build_log(1))
    queue.put(log("b", 0))  # past 25 characters: the waiting log events are coalesced
    queue.put(log("a", 10))  # its marker waits: dropped
    queue.put(log("a", 20))
    queue.put(state("COMPUTED"))
    queue.put(log("b", 10))  # dropped too
    taken = asyncio.run(queue.take())
    assert [(event["type"], event.get("step_uuid")) for event in taken] == [
        ("step", "a"),
        ("log_skipped", "a"),
        ("build_log_skipped", None),
        ("log_skipped", "b"),
        ("step", "a"),
    ]
    assert taken[1] == {
        "type": "log_skipped",
        "run_id": "r",
        "pipeline_uuid": "p",
        "step_uuid": "a",
        "offset": 0,
    }
    assert taken[2]["number"] == 1 and "text" not in taken[2]

    # Once taken, the markers are gone, and log events are queued again.
    queue.put(log("a", 30))
    assert asyncio.run(queue.take()) == [log("a", 30)]


def test_many_small_log_events_are_bounded_too() -> None:
    queue = ClientQueue(lambda _: True, max_log_bytes=1 << 20, max_log_events=10)
    for offset in range(1000):
        queue.put(log("a", offset, "z"))
    taken = asyncio.run(queue.take())
    assert len(taken) <= 10 and taken[0]["type"] == "log_skipped" and taken[0]["offset"] == 0


def test_only_the_events_the_client_wants_are_queued() -> None:
    queue = ClientQueue(lambda event: event.get("step_uuid") == "b")
    queue.put(log("a", 0))
    queue.put(log("b", 0))
    assert asyncio.run(queue.take()) == [log("b", 0)]
