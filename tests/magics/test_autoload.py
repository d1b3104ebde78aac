"""Kernels of environments load the magics at start; a failing load never stops a kernel."""

import subprocess
import sys
from pathlib import Path
from typing import Any

from magics.notebook_kernels import Kernels

from jupyter_orchest.environments.docker import executor, provisioner
from jupyter_orchest.environments.sdk_bundle import sdk_bundle
from jupyter_orchest.environments.venv import kernel_spec
from jupyter_orchest.sdk.server_link import KERNEL_ARGUMENT

HAS_MAGIC = "print('orchest' in get_ipython().magics_manager.magics['line'])"


def kernelspec(*extra: str) -> dict[str, Any]:
    argv = [sys.executable, "-m", "ipykernel_launcher", *extra, "-f", "{connection_file}"]
    return {"argv": argv, "display_name": "Python", "language": "python"}


def test_every_environment_kernel_loads_the_extension(tmp_path: Path) -> None:
    assert KERNEL_ARGUMENT in kernel_spec(tmp_path / "venv", "Tools").argv
    assert KERNEL_ARGUMENT in executor.KERNEL_ARGV  # steps run in a Docker environment
    assert KERNEL_ARGUMENT in provisioner.KERNEL_ARGV  # JupyterLab's kernels in one


async def test_a_kernel_started_with_the_extension_has_the_magic(
    project: Path, kernels: Kernels
) -> None:
    kernel = await kernels.start(project / "summarize.ipynb", kernelspec(KERNEL_ARGUMENT))
    assert (await kernel.run(HAS_MAGIC)).stdout == "True\n"
    assert (await kernel.run("%orchest params")).stdout.startswith("Summarize: {}")
    # A notebook that loads it anyway still works (IPython says it is loaded).
    assert (await kernel.run("%load_ext jupyter_orchest")).status == "ok"


async def test_an_extension_that_fails_to_load_only_warns(
    project: Path, kernels: Kernels, tmp_path: Path
) -> None:
    broken = tmp_path / "broken" / "jupyter_orchest"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('a broken installation')\n")
    kernel = await kernels.start(
        project / "summarize.ipynb",
        kernelspec(KERNEL_ARGUMENT),
        PYTHONPATH=str(broken.parent),
    )
    assert (await kernel.run(HAS_MAGIC)).stdout == "False\n"
    assert (await kernel.run("print(6 * 7)")).stdout == "42\n"


def test_the_sdk_bundle_carries_the_magics_without_the_server(tmp_path: Path) -> None:
    bundle = sdk_bundle(tmp_path)
    for name in ("magics.py", "server_link.py", "run_tables.py"):
        assert (bundle / "jupyter_orchest" / "sdk" / name).is_file()
    check = (
        "import sys, jupyter_orchest\n"
        "from jupyter_orchest.sdk import magics\n"
        "assert jupyter_orchest.__file__.startswith(sys.argv[1]), jupyter_orchest.__file__\n"
        "heavy = [m for m in ('tornado', 'jupyter_server', 'jupyter_client') if m in sys.modules]\n"
        "print(hasattr(jupyter_orchest, 'load_ipython_extension'), heavy)\n"
    )
    printed = subprocess.run(
        [sys.executable, "-c", check, str(bundle)],
        env={"PYTHONPATH": str(bundle)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert printed == "True []\n"
