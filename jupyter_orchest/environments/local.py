"""The local backend: each environment becomes an isolated virtual environment of the project,
`.orchest/venvs/<environment uuid>/<build number>/`, and its steps run on this machine inside it.

A build:

1. makes the virtual environment, with `uv` when it is there (`uv venv --seed`, so that `pip`
   exists in it), else with `python -m venv`, from the Python running this process;
2. installs ipykernel in it, and puts the SDK on its path with a `.pth` file;
3. runs the environment's setup script with bash, in the project folder, with the virtual
   environment activated (its `bin` first on the PATH, VIRTUAL_ENV set), so that its
   `pip install` lines install into it;
4. checks that ipykernel still imports, and writes a marker: a build without the marker is
   not complete, and nothing uses it.

Everything is started with argument lists, never through a shell command line, and no user
value is put into code. A failed or cancelled build leaves nothing behind: its process group
is killed and its folder removed.

Environments of other languages (R, Julia, JavaScript) get a virtual environment too, for
their Python scripts and their setup script's `pip install`s; their notebooks and scripts run
with the machine's kernels and interpreters for the language.
"""

import asyncio
import codecs
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpecManager

from ..services.atomic import write_atomic
from .model import (
    BackendUnavailable,
    BuildFailed,
    BuildRequest,
    BuiltEnvironment,
    Environment,
)
from .sdk_bundle import sdk_bundle
from .venv import (
    VenvExecutor,
    lab_kernel_json,
    site_packages,
    venv_python,
    venv_variables,
    write_sdk_pth,
)

VENVS_FOLDER = Path(".orchest") / "venvs"
MARKER = "orchest-build.json"
"""Written last: the build is complete. Holds what the executor needs to know of it."""
SETUP_SCRIPT_COPY = "orchest-setup-script.sh"
"""The setup script the build ran, kept beside the virtual environment it made."""
TAIL_LINES = 20
"""Lines of a failed command's output quoted in the build's failure message."""
KERNEL_PACKAGE = "ipykernel"


def venvs_dir(project_dir: Path) -> Path:
    return project_dir / VENVS_FOLDER


def build_folder(project_dir: Path, environment_uuid: str, number: int) -> Path:
    return venvs_dir(project_dir) / environment_uuid / str(number)


def find_uv() -> str | None:
    """`uv` on the PATH, or installed beside this Python (as `pip install uv` does)."""
    beside = Path(sys.executable).parent / "uv"
    return shutil.which("uv") or (str(beside) if os.access(beside, os.X_OK) else None)


class LocalBackend:
    """See the module's docs. `sdk_parent`: where the SDK's folder is made (see
    `sdk_bundle`); `grace_period`: seconds a cancelled command gets before it is killed."""

    name = "local"

    def __init__(
        self,
        *,
        sdk_parent: Path,
        grace_period: float = 3.0,
        python: str = sys.executable,
        uv: str | None = None,
        use_uv: bool = True,
    ) -> None:
        self.sdk_parent = sdk_parent
        self.grace_period = grace_period
        self.python = python
        self.uv = (uv or find_uv()) if use_uv else None

    async def check(self) -> None:
        if shutil.which("bash") is None:
            raise BackendUnavailable(
                "The local environment backend runs setup scripts with bash, which is not "
                "installed: install bash (e.g. `apt-get install bash`)."
            )

    async def build(self, request: BuildRequest) -> BuiltEnvironment:
        environment = request.environment
        folder = build_folder(environment.project_dir, environment.uuid, request.number)
        with _build_lock(folder):
            await asyncio.to_thread(_clear_for_build, folder)
            try:
                fingerprint = await self._make(folder, request)
            except BaseException:
                await asyncio.shield(asyncio.to_thread(shutil.rmtree, folder, True))
                raise
        return BuiltEnvironment(
            backend=self.name,
            environment_uuid=environment.uuid,
            project_dir=environment.project_dir,
            number=request.number,
            reference=str(folder),
            fingerprint=fingerprint,
        )

    async def is_present(self, built: BuiltEnvironment) -> bool:
        venv = Path(built.reference)
        return (venv / MARKER).is_file() and venv_python(venv).exists()

    async def remove(self, built: BuiltEnvironment) -> None:
        venv = Path(built.reference)
        # Only ever a folder of the project's venvs: a reference is data, not a command.
        if not venv.resolve().is_relative_to(venvs_dir(built.project_dir).resolve()):
            return
        await asyncio.to_thread(shutil.rmtree, venv, True)
        with contextlib.suppress(OSError):
            venv.parent.rmdir()  # the environment's last build

    def executor(self, built: BuiltEnvironment) -> VenvExecutor:
        venv = Path(built.reference)
        marker = json.loads((venv / MARKER).read_text(encoding="utf-8"))
        write_sdk_pth(venv, sdk_bundle(self.sdk_parent))  # the SDK's folder may have moved
        return VenvExecutor(
            venv,
            kernel_name=marker["kernel_name"],
            display_name=marker["display_name"],
            python_language=marker["language"] == "python",
            grace_period=self.grace_period,
        )

    def kernelspec(self, built: BuiltEnvironment, environment: Environment) -> dict[str, Any]:
        if environment.language == "python":
            return lab_kernel_json(Path(built.reference), environment.name)
        # Other languages use the machine's kernel for their language (see the module's docs).
        manager = KernelSpecManager()
        for name in sorted(manager.find_kernel_specs()):
            spec = manager.get_kernel_spec(name)
            if spec.language.lower() == environment.language:
                machine: dict[str, Any] = spec.to_dict()
                return {**machine, "display_name": environment.name}
        raise BackendUnavailable(
            f"No Jupyter kernel for {environment.language} is installed on this machine, so "
            f"the environment {environment.name!r} has no kernel in JupyterLab; install one "
            "(e.g. IRkernel for R, IJulia for Julia)."
        )

    async def _make(self, folder: Path, request: BuildRequest) -> str:
        environment, log = request.environment, request.log
        python = str(venv_python(folder))
        variables = {**_clean_environ(), **venv_variables(folder)}
        if self.uv is not None:
            log(f"==> Making a virtual environment with uv, from {self.python}\n")
            await self._command(
                [self.uv, "venv", "--seed", "--python", self.python, str(folder)],
                folder.parent,
                _clean_environ(),
                log,
                "Making the virtual environment",
            )
            install = [self.uv, "pip", "install", "--python", python, KERNEL_PACKAGE]
        else:
            log(f"==> Making a virtual environment with venv, from {self.python}\n")
            await self._command(
                [self.python, "-m", "venv", str(folder)],
                folder.parent,
                _clean_environ(),
                log,
                "Making the virtual environment",
            )
            install = [python, "-m", "pip", "install", KERNEL_PACKAGE]
        log(f"==> Installing {KERNEL_PACKAGE}\n")
        await self._command(install, folder, variables, log, f"Installing {KERNEL_PACKAGE}")
        await asyncio.to_thread(write_sdk_pth, folder, sdk_bundle(self.sdk_parent))

        script = folder / SETUP_SCRIPT_COPY
        script.write_text(environment.setup_script, encoding="utf-8")
        log("==> Running the setup script\n")
        await self._command(
            ["bash", str(script)], environment.project_dir, variables, log, "The setup script"
        )

        await self._command(
            [python, "-c", f"import {KERNEL_PACKAGE}"],
            folder,
            variables,
            log,
            f"Checking that {KERNEL_PACKAGE} still works after the setup script",
        )
        fingerprint = await asyncio.to_thread(installed_packages_hash, folder)
        marker = {
            "environment_uuid": environment.uuid,
            "number": request.number,
            "language": environment.language,
            "kernel_name": environment.kernel_name,
            "display_name": environment.name,
            "fingerprint": fingerprint,
        }
        write_atomic(folder / MARKER, json.dumps(marker, indent=4, sort_keys=True) + "\n")
        log(f"==> Built {folder}\n")
        return fingerprint

    async def _command(
        self,
        argv: Sequence[str],
        cwd: Path,
        env: dict[str, str],
        log: Callable[[str], None],
        what: str,
    ) -> None:
        """Run one command of the build in a process group of its own, its output to the log;
        BuildFailed with its exit code and last lines if it fails."""
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=cwd,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as error:
            raise BuildFailed(f"{what} could not start: {error}.") from None
        assert process.stdout is not None
        output = _Output(log)
        reading = asyncio.ensure_future(output.read(process.stdout))
        try:
            code = await process.wait()
        except asyncio.CancelledError:
            await asyncio.shield(_stop_group(process, self.grace_period))
            reading.cancel()
            raise
        _signal_group(process.pid, signal.SIGKILL)  # what it left running holds the pipe
        await reading
        if code != 0:
            how = f"exit code {code}" if code > 0 else f"signal {-code}"
            raise BuildFailed(
                f"{what} failed with {how}. The last lines of the build's log:\n{output.tail()}"
            )


class _Output:
    """Passes a command's output to the build's log as it comes; keeps its last lines."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.log = log
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.recent = ""

    async def read(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(64 * 1024):
            self._take(self.decoder.decode(chunk))
        self._take(self.decoder.decode(b"", final=True))

    def _take(self, text: str) -> None:
        if text:
            self.log(text)
            self.recent = (self.recent + text)[-16 * 1024 :]

    def tail(self) -> str:
        lines = [line for line in self.recent.splitlines() if line.strip()]
        return "\n".join(lines[-TAIL_LINES:]) or "(it printed nothing)"


def installed_packages_hash(venv: Path) -> str:
    """A hash of the names and versions of the packages installed in the virtual environment."""
    packages = site_packages(venv)
    names = sorted(
        entry.name for pattern in ("*.dist-info", "*.egg-info") for entry in packages.glob(pattern)
    )
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


def _clean_environ() -> dict[str, str]:
    """This process's variables, less those that would make Python ignore the venv."""
    return {name: value for name, value in os.environ.items() if name != "PYTHONHOME"}


@contextlib.contextmanager
def _build_lock(folder: Path) -> Iterator[None]:
    """Held while the build of `folder` is under way, by whichever process builds it, so that
    others can tell a build under way from the remains of one whose process died."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    lock_file = _lock_path(folder)
    with open(lock_file, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            lock_file.unlink(missing_ok=True)


def _lock_path(folder: Path) -> Path:
    return folder.with_name(f".{folder.name}.lock")


def _clear_for_build(folder: Path) -> None:
    """Remove the remains of builds of this environment whose process died, and whatever is
    in the way of this one."""
    for sibling in folder.parent.iterdir():
        if sibling != folder and sibling.is_dir() and _abandoned(sibling):
            shutil.rmtree(sibling, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()


def _abandoned(folder: Path) -> bool:
    """Whether `folder` is an incomplete build that no process is making any more."""
    if (folder / MARKER).is_file():
        return False
    try:
        with open(_lock_path(folder), "rb") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # under way
    except FileNotFoundError:
        pass  # its builder finished meanwhile, or died before it took the lock
    return not (folder / MARKER).is_file()


async def _stop_group(process: asyncio.subprocess.Process, grace_period: float) -> None:
    """Terminate the command's process group, kill it after the grace period."""
    _signal_group(process.pid, signal.SIGTERM)
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(process.wait(), grace_period)
    _signal_group(process.pid, signal.SIGKILL)
    await process.wait()


def _signal_group(group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, sig)
