"""Script steps in containers: each in a fresh container of the environment's image, run by
its language's interpreter under an init process, its output streamed, its exit code kept.

A container of its own per script means a cancelled step is stopped for certain (interrupt,
terminate, then kill the container, and with it whatever the script started), and that
nothing a script leaves in the container's file system reaches another step.
"""

from collections.abc import Mapping

from docker import DockerClient

from ...engine.executors.scripts import Interpreter, OutputLines
from ...engine.model import StepReporter, StepResult, StepTask
from .containers import ContainerSpec, running
from .engine import EngineError, where

CONTAINER_INTERPRETERS: Mapping[str, Interpreter] = {
    # -u: unbuffered, so that output arrives as it is printed and not in 8 KiB blocks.
    ".py": Interpreter(("python3", "-u"), "python3 should be in every environment's image"),
    ".sh": Interpreter(("bash",), "install bash in the environment's setup script"),
    ".r": Interpreter(
        ("Rscript",), "install R in the environment's setup script (`apt-get install -y r-base`)"
    ),
    ".jl": Interpreter(("julia",), "install Julia in the environment's setup script"),
    ".js": Interpreter(
        ("node",), "install Node.js in the environment's setup script (`apt-get install -y nodejs`)"
    ),
}
"""Interpreters inside the image, by lower-case file extension."""

COMMAND_NOT_FOUND = 127


async def run_script_in_container(
    client: DockerClient,
    task: StepTask,
    reporter: StepReporter,
    interpreter: Interpreter,
    spec: ContainerSpec,
    grace_period: float,
) -> StepResult:
    """Run the script as `spec` says (its command is the interpreter and the file)."""
    lines = OutputLines(reporter)
    try:
        async with running(client, spec, lines.feed, grace_period) as container:
            code = await container.wait()
    except EngineError as error:
        return StepResult(False, f"cannot run {task.file.name} in a container ({where()}): {error}")
    lines.close("stdout")
    lines.close("stderr")
    name = task.file.name
    if code == 0:
        return StepResult(True)
    if code == COMMAND_NOT_FOUND:
        return StepResult(
            False,
            f"{name} exited with code {code}, which means a command was not found: is "
            f"{interpreter.command[0]!r} in the environment's image? ({interpreter.install_hint})",
        )
    return StepResult(False, f"{name} exited with code {code}")
