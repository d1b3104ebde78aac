"""Where things are inside the containers, and host paths translated to container paths.

Steps see Orchest's layout: the project at `/project-dir`, the data folder at `/data`. What this
backend adds lives under `/opt/jupyter-orchest`, out of the way of the image's own files.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

PROJECT_DIR = PurePosixPath("/project-dir")
DATA_DIR = PurePosixPath("/data")
TOOLS_DIR = PurePosixPath("/opt/jupyter-orchest")
KERNEL_VENV = TOOLS_DIR / "kernel"
"""A virtual environment with ipykernel, made by a build when the base image's Python lacks
it; first on the PATH of every container of the image."""
SDK_DIR = TOOLS_DIR / "sdk"
FORK_SERVER = TOOLS_DIR / "forkserver.py"
BUILD_DIR = TOOLS_DIR / "build"
CA_BUNDLE = TOOLS_DIR / "ca-bundle.crt"
PIP_CONFIG = TOOLS_DIR / "pip.conf"
HOME = PurePosixPath("/home/orchest")
"""Steps run as the server's user, whom the image does not know: they get a home of their own
(an in-memory folder) so that IPython, pip and others have somewhere to write."""
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""The PATH Docker gives containers of images that set none."""


@dataclass(frozen=True)
class ProjectMounts:
    """The host folders a step's container mounts: its project and its data folder."""

    project_dir: Path
    data_dir: Path | None

    def pairs(self) -> list[tuple[Path, PurePosixPath]]:
        """(host folder, container folder) for each mount."""
        pairs = [(self.project_dir, PROJECT_DIR)]
        if self.data_dir is not None:
            pairs.append((self.data_dir, DATA_DIR))
        return pairs


class PathMap:
    """Translates host paths under mounted folders into the paths a container sees."""

    def __init__(self, pairs: list[tuple[Path, PurePosixPath]]) -> None:
        # Both the path as given and with symbolic links resolved: Docker mounts the latter.
        # The most specific folder first: a data folder inside the project is seen as /data.
        self._pairs = [
            (form, container)
            for host, container in pairs
            for form in dict.fromkeys((host, host.resolve()))
        ]
        self._pairs.sort(key=lambda pair: len(pair[0].parts), reverse=True)

    def path(self, host_path: Path) -> PurePosixPath | None:
        """The container's path for `host_path`, or None if no mounted folder holds it."""
        for host, container in self._pairs:
            if host_path == host or host_path.is_relative_to(host):
                return container / host_path.relative_to(host).as_posix()
        return None

    def environment(self, env: Mapping[str, str]) -> dict[str, str]:
        """The variables with every value that is an absolute host path under a mounted
        folder replaced by the container's path; other values unchanged."""
        translated = {}
        for name, value in env.items():
            inside = self.path(Path(value)) if os.path.isabs(value) else None
            translated[name] = str(inside) if inside is not None else value
        return translated
