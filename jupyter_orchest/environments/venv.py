"""Running steps inside a project's virtual environment: its Python for scripts, its ipykernel
for notebooks, its `bin` first on the PATH.

The kernelspec of the virtual environment's kernel names its Python and nothing else (no
variables), so that `LocalExecutor` can fork its kernels from a fork server running that
Python, as fast as it starts kernels of its own Python.
"""

import os
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import NATIVE_KERNEL_NAME, KernelSpec, KernelSpecManager

from ..engine.executors import LocalExecutor
from ..engine.executors.scripts import INTERPRETERS, Interpreter
from ..engine.model import StepReporter, StepResult, StepTask
from ..sdk.server_link import KERNEL_ARGUMENT

SDK_PTH = "jupyter_orchest_sdk.pth"
"""The file in the virtual environment's site-packages that puts the SDK on its path."""
PYTHON_KERNEL_NAMES = (NATIVE_KERNEL_NAME, "python")
"""Names notebooks and pipelines use for the Python kernel (`python` is Orchest's)."""


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def venv_variables(venv: Path) -> dict[str, str]:
    """What activating the virtual environment would set: its `bin` first on the PATH."""
    path = os.environ.get("PATH", os.defpath)
    return {"VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}{os.pathsep}{path}"}


def site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python*/site-packages"))
    if not found:
        raise FileNotFoundError(f"{venv} has no site-packages folder")
    return found[-1]


def write_sdk_pth(venv: Path, sdk: Path) -> None:
    """Put the SDK folder on the virtual environment's path, unless it is there already."""
    pth = site_packages(venv) / SDK_PTH
    line = f"{sdk}\n"
    try:
        if pth.read_text(encoding="utf-8") == line:
            return  # rewriting would change site-packages and retire warm kernels for nothing
    except FileNotFoundError:
        pass
    pth.write_text(line, encoding="utf-8")


def kernel_spec(venv: Path, display_name: str) -> KernelSpec:
    """The kernelspec of the virtual environment's ipykernel."""
    resources = venv / "share" / "jupyter" / "kernels" / NATIVE_KERNEL_NAME
    return KernelSpec(
        argv=[
            str(venv_python(venv)),
            "-m",
            "ipykernel_launcher",
            KERNEL_ARGUMENT,
            "-f",
            "{connection_file}",
        ],
        display_name=display_name,
        language="python",
        interrupt_mode="signal",
        metadata={"debugger": True},
        resource_dir=str(resources) if resources.is_dir() else "",
    )


def lab_kernel_json(venv: Path, display_name: str) -> dict[str, Any]:
    """kernel.json for JupyterLab: the same kernel, with the virtual environment activated
    (jupyter_client fills in `${PATH}` from the server's environment)."""
    spec = kernel_spec(venv, display_name).to_dict()
    spec["env"] = {"VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}{os.pathsep}${{PATH}}"}
    return spec


class VenvKernelSpecManager(KernelSpecManager):
    """The machine's kernelspecs, except that the Python kernel names start the virtual
    environment's kernel."""

    def __init__(self, venv: Path, names: Iterable[str], display_name: str) -> None:
        super().__init__()
        self.venv = venv
        self.venv_names = frozenset(names)
        self.display_name = display_name

    def find_kernel_specs(self) -> dict[str, str]:
        specs: dict[str, str] = super().find_kernel_specs()
        folder = kernel_spec(self.venv, self.display_name).resource_dir or str(self.venv)
        specs.update(dict.fromkeys(self.venv_names, folder))
        return specs

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        if kernel_name in self.venv_names:
            return kernel_spec(self.venv, self.display_name)
        spec: KernelSpec = super().get_kernel_spec(kernel_name)
        return spec


class VenvExecutor(LocalExecutor):
    """A LocalExecutor whose steps run in a virtual environment. In an environment of the
    Python language every notebook runs with the environment's kernel, as in Orchest; in the
    others, notebooks run with the machine's kernel for their language, and Python scripts
    still with the environment's Python."""

    def __init__(
        self,
        venv: Path,
        *,
        kernel_name: str,
        display_name: str,
        python_language: bool,
        **options: Any,
    ) -> None:
        python = str(venv_python(venv))
        super().__init__(
            interpreters={
                **INTERPRETERS,
                ".py": Interpreter((python, "-u"), "build the step's environment again"),
            },
            kernel_spec_manager=VenvKernelSpecManager(
                venv, (*PYTHON_KERNEL_NAMES, kernel_name), display_name
            ),
            **options,
        )
        self.venv = venv
        self.python_language = python_language
        self.variables = venv_variables(venv)

    def expect(self, tasks: list[StepTask]) -> None:
        super().expect([self._in_venv(task) for task in tasks])

    async def run_step(self, task: StepTask, reporter: StepReporter) -> StepResult:
        return await super().run_step(self._in_venv(task), reporter)

    def _in_venv(self, task: StepTask) -> StepTask:
        # The native name: the kernel kept on standby is started under it.
        kernel_name = NATIVE_KERNEL_NAME if self.python_language else task.kernel_name
        return replace(task, env={**self.variables, **task.env}, kernel_name=kernel_name)
