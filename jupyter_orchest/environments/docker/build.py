"""Building an environment's image: base image, kernel support, then the setup script.

Each stage runs a script in a container of the previous stage's image and commits the
container as the next image, only once its script succeeded: a failed or cancelled build
leaves no image. Stages are reused rather than run again:

- kernel support (ipykernel, in a virtual environment at `layout.KERNEL_VENV` when the base
  image's python3 lacks it) is made once per base image, tagged
  `jupyter-orchest/kernel-support:<base image id>-<recipe>`;
- an environment's image is found again by its labels when its inputs (kernel support image,
  setup script, GPU support) are those of an earlier build: a rebuild of an unchanged
  environment only adds a tag.

The setup script runs as root, in `/project-dir`, where the project is mounted read-only
rather than copied into the image: the build sees the project as it is without copying it
(data folders can be large), cannot change the user's files, and the image does not hold a
copy of the project that the project mounted at run time would hide anyway. It also means that
a rebuild is keyed by the script and not by every file of the project: a script that reads
project files (`pip install -r requirements.txt`) is run again when the script changes, not
when only those files do.
"""

import asyncio
import contextlib
import hashlib
import json
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from uuid import uuid4

from docker import DockerClient
from docker.types import Mount

from ...engine.executors.scripts import OutputLines
from ...engine.model import Stream
from ..model import BuildFailed, BuildRequest, BuiltEnvironment, Environment
from . import labels, layout
from .containers import ContainerSpec, running
from .engine import EngineError, inspect_image
from .settings import Carried, image_environment, read_only

BUILD_FORMAT = "1"
"""Changes when the way images are made changes, so that older images are not reused."""
BUILD_RUNNER = Path(__file__).with_name("_build_main.py")
KERNEL_SUPPORT_REPOSITORY = "jupyter-orchest/kernel-support"
ENVIRONMENT_REPOSITORY = "jupyter-orchest/env"
KERNEL_SUPPORT_SCRIPT = f"""\
set -eu
if python3 -c 'import ipykernel' 2>/dev/null; then
    echo "Kernel support: python3 has ipykernel already."
    exit 0
fi
echo "Kernel support: installing ipykernel into {layout.KERNEL_VENV}"
python3 -m venv --system-site-packages {layout.KERNEL_VENV}
{layout.KERNEL_VENV}/bin/python -m pip install --no-cache-dir --progress-bar off ipykernel
"""
KERNEL_SUPPORT_HINT = (
    "Kernel support needs python3 with its venv module in the base image (on Debian and "
    "Ubuntu: the python3 and python3-venv packages) and access to the package index (behind "
    "a TLS-intercepting proxy: configure the CA bundle to carry into builds)."
)
TAIL_LINES = 20
TAIL_BYTES = 16 * 1024


def project_key(project_dir: Path) -> str:
    """A short name for a project, usable in image names."""
    return hashlib.sha256(str(project_dir).encode()).hexdigest()[:12]


def image_repository(environment: Environment) -> str:
    """`jupyter-orchest/env-<project>-<environment uuid>`: images are per project and
    environment, and tagged by build number."""
    uuid = "".join(c if c.isalnum() or c in "-_." else "-" for c in environment.uuid.lower())
    return f"{ENVIRONMENT_REPOSITORY}-{project_key(environment.project_dir)}-{uuid}"


class ImageBuilder:
    def __init__(self, carried: Carried, scratch_dir: Path) -> None:
        self.carried = carried
        self.scratch_dir = scratch_dir
        self._kernel_support_locks: dict[str, asyncio.Lock] = {}

    async def build(
        self, client: DockerClient, request: BuildRequest, base_name: str
    ) -> BuiltEnvironment:
        environment = request.environment
        log = request.log
        base = await asyncio.to_thread(_base_image, client, base_name, environment.base_image)
        log(f"Base image: {base_name} ({_short(base['Id'])})\n")
        support = await self._kernel_support(client, base, log)
        inputs = _hash(BUILD_FORMAT, support, environment.setup_script, environment.gpu_support)
        image_labels = {
            labels.KIND: "environment",
            labels.PROJECT: project_key(environment.project_dir),
            labels.PROJECT_DIR: str(environment.project_dir),
            labels.ENVIRONMENT: environment.uuid,
            labels.INPUTS: inputs,
        }
        found = await asyncio.to_thread(_find_image, client, image_labels)
        if found is not None:
            log(
                f"Reusing image {_short(found)}: the setup script, the base image and the "
                "kernel support are those of an earlier build.\n"
            )
            image_id = found
        else:
            log("Running setup_script.sh in /project-dir\n")
            image_id = await self._stage(
                client,
                parent=support,
                script=environment.setup_script,
                working_dir=layout.PROJECT_DIR,
                mounts=[
                    read_only(environment.project_dir, layout.PROJECT_DIR),
                ],
                image_labels={
                    **image_labels,
                    labels.NUMBER: str(request.number),
                    labels.BASE_IMAGE: str(base["Id"]),
                    labels.GPU_SUPPORT: str(environment.gpu_support).lower(),
                },
                log=log,
                failure=f"The setup script of environment {environment.name!r} failed",
            )
        repository = image_repository(environment)
        tag = str(request.number)
        await asyncio.to_thread(client.api.tag, image_id, repository, tag, force=True)
        log(f"Built {repository}:{tag} ({_short(image_id)})\n")
        return BuiltEnvironment(
            backend="docker",
            environment_uuid=environment.uuid,
            project_dir=environment.project_dir,
            number=request.number,
            reference=f"{repository}:{tag}",
            fingerprint=image_id,
        )

    async def _kernel_support(
        self, client: DockerClient, base: Mapping[str, Any], log: Callable[[str], None]
    ) -> str:
        """The id of the base image with kernel support, made if need be."""
        base_id = str(base["Id"])
        recipe = _hash(BUILD_FORMAT, KERNEL_SUPPORT_SCRIPT)[:8]
        tag = f"{_short(base_id)}-{recipe}"
        lock = self._kernel_support_locks.setdefault(base_id, asyncio.Lock())
        async with lock:
            existing = await asyncio.to_thread(
                inspect_image, client, f"{KERNEL_SUPPORT_REPOSITORY}:{tag}"
            )
            if existing is not None and _labels(existing).get(labels.BASE_IMAGE) == base_id:
                log(f"Kernel support: reusing {KERNEL_SUPPORT_REPOSITORY}:{tag}\n")
                return str(existing["Id"])
            image_id = await self._stage(
                client,
                parent=base_id,
                script=KERNEL_SUPPORT_SCRIPT,
                working_dir="/",
                mounts=[],
                image_labels={labels.KIND: "kernel-support", labels.BASE_IMAGE: base_id},
                log=log,
                failure="Could not add kernel support (ipykernel) to the base image",
                hint=KERNEL_SUPPORT_HINT,
                path_first=f"{layout.KERNEL_VENV}/bin",
            )
            await asyncio.to_thread(
                client.api.tag, image_id, KERNEL_SUPPORT_REPOSITORY, tag, force=True
            )
            return image_id

    async def _stage(
        self,
        client: DockerClient,
        *,
        parent: str,
        script: str,
        working_dir: object,
        mounts: list[Mount],
        image_labels: dict[str, str],
        log: Callable[[str], None],
        failure: str,
        hint: str = "",
        path_first: str | None = None,
    ) -> str:
        """Run `script` with bash in a container of `parent` and commit it; the new image's
        id. BuildFailed if the script fails; nothing is left if this raises."""
        self.scratch_dir.mkdir(parents=True, exist_ok=True)
        # Only this user (and the build, as root) can read it: the variables may hold a
        # proxy's credentials.
        folder = Path(tempfile.mkdtemp(prefix="build-", dir=self.scratch_dir))
        try:
            (folder / "script.sh").write_text(script, encoding="utf-8")
            (folder / "variables.json").write_text(json.dumps(self.carried.variables()))
            shutil.copyfile(BUILD_RUNNER, folder / "run.py")
            spec = ContainerSpec(
                image=parent,
                command=[
                    "python3",
                    str(layout.BUILD_DIR / "run.py"),
                    str(layout.BUILD_DIR / "variables.json"),
                    str(layout.BUILD_DIR / "script.sh"),
                ],
                labels=labels.container_labels(uuid4().hex, "build"),
                working_dir=str(working_dir),
                user="0",
                mounts=[read_only(folder, layout.BUILD_DIR), *mounts, *self.carried.mounts()],
            )
            parent_attrs = await asyncio.to_thread(inspect_image, client, parent)
            if parent_attrs is None:
                raise BuildFailed(f"The image {parent} disappeared during the build.")
            config = _committed_config(parent_attrs, image_labels, path_first)
            return await self._run_and_commit(client, spec, config, log, failure, hint)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    async def _run_and_commit(
        self,
        client: DockerClient,
        spec: ContainerSpec,
        config: dict[str, Any],
        log: Callable[[str], None],
        failure: str,
        hint: str,
    ) -> str:
        tail = _Tail()
        lines = OutputLines(_BuildLog(log))

        def output(stream: Stream, data: bytes) -> None:
            lines.feed(stream, data)
            tail.add(data)

        try:
            async with running(client, spec, output) as container:
                code = await container.wait()
                lines.close("stdout")
                lines.close("stderr")
                if code != 0:
                    raise BuildFailed(
                        f"{failure} with exit code {code}.{' ' + hint if hint else ''} The "
                        f"last lines of its output:\n{tail.text()}"
                    )
                return await _commit(client, container.id, config)
        except EngineError as error:
            hint_text = f" {hint}" if hint else ""
            raise BuildFailed(f"{failure}: the Docker engine said: {error}.{hint_text}") from error


class _BuildLog:
    """A StepReporter that sends everything to a build's log."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self._log = log

    def log(self, stream: Stream, text: str) -> None:
        self._log(text)


class _Tail:
    """The last bytes of a build's output, for its failure message."""

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._size = 0

    def add(self, data: bytes) -> None:
        self._chunks.append(data)
        self._size += len(data)
        while self._size - len(self._chunks[0]) >= TAIL_BYTES:
            self._size -= len(self._chunks.popleft())

    def text(self) -> str:
        text = b"".join(self._chunks).decode("utf-8", errors="replace")
        return "\n".join(text.rstrip().splitlines()[-TAIL_LINES:])


async def _commit(client: DockerClient, container_id: str, config: dict[str, Any]) -> str:
    """Commit the container as an untagged image; its id. If cancelled meanwhile, the image
    is removed once the commit is done."""
    commit = asyncio.ensure_future(asyncio.to_thread(client.api.commit, container_id, conf=config))
    try:
        return str((await asyncio.shield(commit))["Id"])
    except asyncio.CancelledError:
        await asyncio.wait([commit])
        if not commit.cancelled() and commit.exception() is None:
            with contextlib.suppress(*EngineError):
                await asyncio.to_thread(client.api.remove_image, commit.result()["Id"], force=True)
        raise


def _committed_config(
    parent: Mapping[str, Any], image_labels: dict[str, str], path_first: str | None
) -> dict[str, Any]:
    """The new image's configuration: the parent's, with these labels, and nothing of the
    build container's (its command, working directory, user and labels)."""
    config = parent.get("Config") or {}
    env = image_environment(parent)
    if path_first is not None:
        env["PATH"] = f"{path_first}:{env.get('PATH', layout.DEFAULT_PATH)}"
    return {
        "Env": [f"{name}={value}" for name, value in env.items()],
        "Cmd": config.get("Cmd") or ["bash"],
        "Entrypoint": config.get("Entrypoint"),
        "WorkingDir": config.get("WorkingDir") or "/",
        "User": config.get("User") or "0",
        "Labels": labels.without_container_labels({**_labels(parent), **image_labels}),
    }


def _base_image(client: DockerClient, name: str, asked: str) -> dict[str, Any]:
    """The base image's attributes, pulled if the engine lacks it. Blocking."""
    found = inspect_image(client, name)
    if found is not None:
        return found
    try:
        client.images.pull(name)
    except EngineError as error:
        mapped = f" (the environment asks for {asked!r})" if asked != name else ""
        raise BuildFailed(
            f"The base image {name!r}{mapped} is not in the Docker engine and could not be "
            f"pulled: {error}. Make it available (`docker pull {name}`, or build or import it "
            "into the engine), or map the environment's base image to one the engine has "
            "(the base images setting)."
        ) from error
    pulled = inspect_image(client, name)
    if pulled is None:
        raise BuildFailed(f"The base image {name!r} was pulled but cannot be found.")
    return pulled


def _find_image(client: DockerClient, image_labels: Mapping[str, str]) -> str | None:
    """The newest image with these labels, or None."""
    filters = {"label": [f"{name}={value}" for name, value in image_labels.items()]}
    images = client.api.images(filters=filters)
    if not images:
        return None
    return str(max(images, key=lambda image: image.get("Created", 0))["Id"])


def _labels(attrs: Mapping[str, Any]) -> dict[str, str]:
    return dict((attrs.get("Config") or {}).get("Labels") or {})


def _hash(*parts: object) -> str:
    return hashlib.sha256(json.dumps([str(part) for part in parts]).encode()).hexdigest()


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]
