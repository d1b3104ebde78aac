"""What a step process started here sees at `/data` and `/project-dir` (see
`mount_namespace`), and whether this machine can show it."""

import asyncio
from dataclasses import dataclass

from ..model import StepTask
from . import mount_namespace


@dataclass(frozen=True)
class OrchestMounts:
    """The folders of this machine a step process sees at /data and at /project-dir."""

    data_dir: str
    project_dir: str | None

    @classmethod
    def of(cls, task: StepTask) -> "OrchestMounts | None":
        """The task's data folder and project; None when its run gives it no data folder."""
        if task.data_dir is None:
            return None
        project = str(task.project_dir) if task.project_dir is not None else None
        return cls(str(task.data_dir), project)

    def command(self) -> list[str]:
        """What to put before a program's arguments to run it in its namespace."""
        return mount_namespace.command(self.data_dir, self.project_dir)


async def namespaces_unavailable() -> str:
    """Why step processes get no mount namespace here, or "" when they do (the machine is
    asked once per process, off the event loop)."""
    if mount_namespace.unavailable.cache_info().currsize:
        return mount_namespace.unavailable()
    return await asyncio.to_thread(mount_namespace.unavailable)
