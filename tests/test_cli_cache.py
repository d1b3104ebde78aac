"""`jupyter orchest run` with the step cache, `jupyter orchest provenance` and `jupyter orchest
cache`, as a user runs them; the cache and the database in a Jupyter data folder of the test's
own (their default place)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from support import make_step, pipeline_writer

JUPYTER = Path(sys.executable).parent / "jupyter"


def orchest(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if args[:1] == ("run",):
        args = (*args, "--environment-backend", "none")
    done = subprocess.run(
        [str(JUPYTER), "orchest", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "JUPYTER_DATA_DIR": str(data_dir)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_reruns_come_from_the_cache_and_provenance_says_why(tmp_path: Path) -> None:
    project, data = tmp_path / "project", tmp_path / "jupyter-data"
    project.mkdir()
    pipeline = str(
        pipeline_writer(project)(
            [
                make_step("load", "load.py", [], parameters={"alpha": 0.1}),
                make_step("train", "train.py", ["load"]),
            ],
            {
                "load.py": "import orchest\n"
                "orchest.output(orchest.get_step_param('alpha'), name='alpha')\n",
                "train.py": "import orchest\nprint('alpha is', orchest.get_inputs()['alpha'])\n",
            },
        )
    )
    first = orchest(data, "run", pipeline)
    assert "ran because: not run before" in first.stdout

    second = orchest(data, "run", pipeline)
    assert "COMPUTED  Load" in second.stdout and "(from the cache)" in second.stdout
    assert "ran because" not in second.stdout

    changed = orchest(data, "run", pipeline, "--param", "Load.alpha=0.2")
    assert "ran because: parameter `alpha` changed from 0.1 to 0.2" in changed.stdout
    assert "ran because: upstream `Load` output changed" in changed.stdout

    forced = orchest(data, "run", pipeline, "--param", "Load.alpha=0.2", "--force")
    assert forced.stdout.count("ran because: forced") == 2

    summary = orchest(data, "provenance", pipeline).stdout
    assert "Load  computed: forced" in summary and "Train  computed: forced" in summary
    detail = orchest(data, "provenance", pipeline, "--step", "Train").stdout
    assert "input" in detail and "Load:" in detail and "executor" in detail
    record = json.loads(orchest(data, "provenance", pipeline, "--step", "train", "--json").stdout)
    (train,) = record["steps"]
    assert train["reasons"] == ["forced"] and train["inputs"][0]["step_uuid"] == "load"
    assert "alpha is 0.2" in train["executions"][0]["stdout"]

    assert (data / "orchest" / "cache" / "index.sqlite").is_file()
    assert orchest(data, "cache", "info").stdout.startswith("4 results")
    assert orchest(data, "cache", "clear").stdout.startswith("Removed 4 results")
    assert orchest(data, "cache", "info").stdout.startswith("0 results")
