"""Kernelspecs for JupyterLab, one per built environment, in a folder of this extension's own
that the server adds to its kernelspec folders: every environment appears in the launcher
and the kernel picker, under Orchest's kernel name, so that Orchest notebooks find it.

Kernel names are Orchest's (`orchest-kernel-<environment uuid>`), so two copies of a project
share their environments' kernel names: the copy built last owns the kernelspec, and only the
project that owns it removes it.
"""

import json
import shutil
from pathlib import Path
from typing import Any

from ..services.atomic import write_atomic

OWNER_KEY = "jupyter_orchest"
"""The kernelspec's metadata key that says which project and build it belongs to."""


class KernelspecFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def install(
        self,
        name: str,
        spec: dict[str, Any],
        *,
        display_name: str,
        project_dir: Path,
        environment_uuid: str,
        number: int,
    ) -> None:
        owner = {
            "project_dir": str(project_dir),
            "environment_uuid": environment_uuid,
            "build": number,
        }
        metadata = {**spec.get("metadata", {}), OWNER_KEY: owner}
        kernel = {**spec, "display_name": display_name, "metadata": metadata}
        (self.folder / name).mkdir(parents=True, exist_ok=True)
        write_atomic(self.folder / name / "kernel.json", json.dumps(kernel, indent=1) + "\n")

    def owner(self, name: str) -> dict[str, Any] | None:
        """Who installed the kernelspec (see `install`), if it is one of ours."""
        try:
            spec = json.loads((self.folder / name / "kernel.json").read_text(encoding="utf-8"))
            owner = spec["metadata"][OWNER_KEY]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return owner if isinstance(owner, dict) else None

    def owned_by(self, name: str, project_dir: Path) -> bool:
        owner = self.owner(name)
        return owner is not None and owner.get("project_dir") == str(project_dir)

    def rename(self, name: str, project_dir: Path, display_name: str) -> None:
        """Show the kernel under a new name (its environment was renamed)."""
        if self.owned_by(name, project_dir):
            file = self.folder / name / "kernel.json"
            spec = json.loads(file.read_text(encoding="utf-8"))
            write_atomic(file, json.dumps({**spec, "display_name": display_name}, indent=1) + "\n")

    def remove(self, name: str, project_dir: Path) -> None:
        if self.owned_by(name, project_dir):
            shutil.rmtree(self.folder / name, ignore_errors=True)


def display_name(environment_name: str, project_dir: Path) -> str:
    """How JupyterLab lists an environment's kernel."""
    return f"{environment_name} ({project_dir.name})"
