"""A step's settings in the pipeline file (`resources` for Ray; `retries`, `retry_delay` and
`timeout` for every executor), the choice of Ray per run, and Ray imported only when it is
used; none of these tests needs a Ray instance."""

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_orchest.engine.model import AttemptPolicy, StepResources, size_in_bytes
from jupyter_orchest.engine.planning import RunType, plan_run
from jupyter_orchest.pipeline.validation import validate_definition
from support import FINISHED_RUN_STATES, make_step, pipeline_writer


@pytest.fixture(autouse=True)
def no_stray_processes() -> None:
    """Not checked here: these tests start no process that outlives them, but the server's
    (its executor's kernels) stop only after this fixture's end."""


def definition_with(**step_keys: Any) -> dict[str, Any]:
    return {
        "name": "test",
        "uuid": "pipeline-1",
        "version": "1.0.0",
        "settings": {},
        "parameters": {},
        "services": {},
        "steps": {"a": make_step("a", "a.py", [], **step_keys)},
    }


def test_resources_and_attempts_are_planned_with_each_step(tmp_path: Path) -> None:
    definition = definition_with(
        resources={"cpus": 0.5, "gpus": 1, "memory": "2 GiB"},
        retries=2,
        retry_delay=0.5,
        timeout=30,
    )
    assert validate_definition(definition) == []
    (step,) = plan_run(definition, tmp_path / "test.orchest", RunType.ALL, None).steps
    assert step.resources == StepResources(cpus=0.5, gpus=1, memory=2 * 1024**3)
    assert step.attempts == AttemptPolicy(retries=2, retry_delay=0.5, timeout=30.0)
    (plain,) = plan_run(definition_with(), tmp_path / "test.orchest", RunType.ALL, None).steps
    assert plain.resources == StepResources(cpus=1, gpus=0, memory=0)
    assert plain.attempts == AttemptPolicy(retries=0, retry_delay=0.0, timeout=None)


def test_a_steps_own_attempt_settings_win_over_defaults() -> None:
    defaults = AttemptPolicy(retries=3, retry_delay=5, timeout=60)
    step = make_step("a", "a.py", [], retries=0, timeout=2)
    assert AttemptPolicy.from_definition(step, defaults) == AttemptPolicy(0, 5.0, 2.0)


@pytest.mark.parametrize(
    ("size", "expected"),
    [(1000, 1000), ("1000", 1000), ("512 MB", 512 * 10**6), ("1.5GiB", 3 * 2**29), ("2 TB", 2e12)],
)
def test_memory_is_bytes_or_a_readable_size(size: object, expected: int) -> None:
    assert size_in_bytes(size) == expected
    assert validate_definition(definition_with(resources={"memory": size})) == []


@pytest.mark.parametrize(
    ("step_keys", "pointer", "said"),
    [
        ({"resources": {"memory": "lots"}}, "/steps/a/resources/memory", 'such as "512 MB"'),
        ({"resources": {"memory": -1}}, "/steps/a/resources/memory", "at least 0"),
        ({"resources": {"cpus": 0}}, "/steps/a/resources/cpus", "number of CPUs above 0"),
        ({"resources": {"gpus": "one"}}, "/steps/a/resources/gpus", "must be a number"),
        ({"resources": {"disk": 1}}, "/steps/a/resources", "may only name cpus, gpus and memory"),
        ({"retries": 1.5}, "/steps/a/retries", "whole number"),
        ({"retries": -1}, "/steps/a/retries", "at least 0"),
        ({"retries": 1000}, "/steps/a/retries", "at most 100"),
        ({"retry_delay": "soon"}, "/steps/a/retry_delay", "must be a number"),
        ({"retry_delay": -1}, "/steps/a/retry_delay", "at least 0"),
        ({"timeout": 0}, "/steps/a/timeout", "number of seconds above 0"),
        ({"timeout": "1h"}, "/steps/a/timeout", "must be a number"),
    ],
)
def test_bad_step_settings_are_explained(
    step_keys: dict[str, Any], pointer: str, said: str
) -> None:
    (issue,) = validate_definition(definition_with(**step_keys))
    assert issue.pointer == pointer
    assert said in issue.message, issue.message


def test_the_server_the_cli_and_the_sdk_do_not_import_ray() -> None:
    code = (
        "import sys, orchest, jupyter_orchest.app, jupyter_orchest.cli\n"
        "import jupyter_orchest.engine.executors.ray\n"
        "print('ray' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


async def test_a_run_asks_for_an_executor_by_name(api: Any, jp_root_dir: Path) -> None:
    # This server has no Ray address: Ray is refused, local steps ignore the Ray settings.
    write = pipeline_writer(jp_root_dir)
    step = make_step("a", "a.py", [], resources={"cpus": 64, "memory": "1 TiB"})
    write([step], {"a.py": "print('ran here')"})
    for executor, said in (("ray", "ray_address"), ("spark", '"local" or "ray"'), (7, "must")):
        code, reply = await api(
            "POST", "runs", body={"pipeline": "test.orchest", "executor": executor}
        )
        assert code == 400 and said in reply["message"], reply
    code, run = await api("POST", "runs", body={"pipeline": "test.orchest", "executor": "local"})
    assert code == 201, run
    while run["state"] not in FINISHED_RUN_STATES:
        await asyncio.sleep(0.1)
        code, run = await api("GET", "runs", run["id"])
    assert run["state"] == "SUCCESS", run
    code, log = await api("GET", "runs", run["id"], "steps", "a", "log")
    assert log == "ran here\n"
