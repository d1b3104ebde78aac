"""`jupyter orchest run --ray local`: a Ray instance of the run's own, started by the CLI (no
other instance runs here: the Ray executor's other tests have shut theirs down)."""

import shutil
import subprocess
import sys
from pathlib import Path

from support import EXAMPLE_PROJECT

JUPYTER = Path(sys.executable).parent / "jupyter"


def test_a_run_starts_a_ray_instance_of_its_own(tmp_path: Path) -> None:
    project = Path(shutil.copytree(EXAMPLE_PROJECT, tmp_path / "quickstart"))
    command = [str(JUPYTER), "orchest", "run", str(project / "quickstart.orchest")]
    done = subprocess.run(
        [*command, "--ray", "local", "--cache-max-bytes", "0"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Started a local Ray instance" in done.stderr
    for title in ("Get data", "Clean", "Summarize", "Report"):
        assert f"COMPUTED  {title}" in done.stdout
