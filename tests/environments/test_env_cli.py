"""`jupyter orchest env ...` and `jupyter orchest run` in local environments, as a user runs
them from a terminal."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from support import EXAMPLE_PROJECT

JUPYTER = Path(sys.executable).parent / "jupyter"
EXAMPLE_ENVIRONMENT = "3d9c6b0e-7f1a-4c55-9d3e-2b8f6a1c4e70"


def orchest(*args: str, cwd: Path, data: Path) -> subprocess.CompletedProcess[str]:
    # Builds are recorded and kernelspecs installed in a Jupyter data folder of the test's own.
    env = {**os.environ, "JUPYTER_DATA_DIR": str(data)}
    return subprocess.run(
        [str(JUPYTER), "orchest", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_environments_are_managed_and_built_from_the_command_line(tmp_path: Path) -> None:
    project, data = tmp_path / "quickstart", tmp_path / "data"
    shutil.copytree(EXAMPLE_PROJECT, project)
    (project / "notes").mkdir()

    def env(*args: str, cwd: Path = project / "notes") -> subprocess.CompletedProcess[str]:
        return orchest("env", *args, cwd=cwd, data=data)

    listed = env("list")  # from a folder inside the project
    assert listed.returncode == 0, listed.stderr
    assert re.search(
        rf"{EXAMPLE_ENVIRONMENT}\s+Python 3\s+python\s+orchest/base-kernel-py\s+-", listed.stdout
    )

    script = tmp_path / "setup.sh"
    script.write_text("pip install termcolor\n")
    created = env("create", "Tools", "--setup-script", str(script))
    assert created.returncode == 0, created.stderr
    uuid = created.stdout.strip()
    assert (project / ".orchest" / "environments" / uuid / "setup_script.sh").read_text() == (
        "pip install termcolor\n"
    )
    edited = env("edit", "Tools", "--name", "Kit", "--gpu")
    assert edited.returncode == 0 and "Saved the environment 'Kit'" in edited.stdout
    shown = env("show", "Kit")
    assert "gpu support: yes" in shown.stdout and "    pip install termcolor" in shown.stdout

    for args, said in [
        (("show", "nope"), "has no environment 'nope'. Its environments: 'Kit', 'Python 3'."),
        (("edit", "Kit"), "Nothing to change"),
        (("create", "X", "--setup-script", str(tmp_path / "missing.sh")), "Cannot read"),
    ]:
        refused = env(*args)
        assert refused.returncode == 2 and said in refused.stderr, (args, refused.stderr)
        assert "Traceback" not in refused.stderr

    built = env("build", "Kit", "--environment-backend", "local")
    assert built.returncode == 0, built.stdout + built.stderr
    assert "Successfully installed termcolor" in built.stdout
    assert re.search(r"SUCCESS\s+environment 'Kit' \(build 1, local\)", built.stdout)
    kernel = data / "orchest" / "kernels" / f"orchest-kernel-{uuid}" / "kernel.json"
    assert json.loads(kernel.read_text())["display_name"] == "Kit (quickstart)"
    assert re.search(
        rf"{uuid}\s+Kit\s+python\s+orchest/base-kernel-py\s+1 SUCCESS", env("list").stdout
    )

    env("edit", "Kit", "--setup-script", "-")  # an empty script from standard input
    (project / ".orchest" / "environments" / uuid / "setup_script.sh").write_text("exit 4\n")
    failed = env("build", "Kit", "--environment-backend", "local")
    assert failed.returncode == 1
    assert "The setup script failed with exit code 4." in failed.stdout

    deleted = env("delete", "Kit")
    assert deleted.returncode == 0 and "Deleted the environment 'Kit'" in deleted.stdout
    assert not kernel.exists()
    assert not (project / ".orchest" / "venvs" / uuid).exists()


def test_run_runs_steps_in_their_local_environment(tmp_path: Path) -> None:
    project, data = tmp_path / "quickstart", tmp_path / "data"
    shutil.copytree(EXAMPLE_PROJECT, project)
    clean = project / "clean.py"
    clean.write_text(clean.read_text() + "import sys\nprint('prefix=' + sys.prefix)\n")
    done = orchest(
        "run", "quickstart.orchest", "--environment-backend", "local", cwd=project, data=data
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"SUCCESS\s+environment 'Python 3' \(build 1, local\)", done.stdout)
    assert "Run SUCCESS." in done.stdout
    logs = Path(done.stdout.rsplit("Logs: ", 1)[1].strip())
    venv = project / ".orchest" / "venvs" / EXAMPLE_ENVIRONMENT / "1"
    clean_log = logs / "a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d.log"
    assert f"prefix={venv}" in clean_log.read_text()
