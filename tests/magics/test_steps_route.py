"""`GET /orchest/api/steps?file=`: which steps run a file (what `%orchest` asks first)."""

import json
from pathlib import Path
from typing import Any

from magics.notebook_kernels import CLEAN, PIPELINE, SUMMARIZE

ApiCall = Any


async def test_the_steps_that_run_a_notebook(project: Path, api: ApiCall) -> None:
    code, body = await api("GET", "steps", params={"file": "quickstart/summarize.ipynb"})
    assert code == 200
    data_dir = project / "data"  # the server's default: the project's `data` folder
    assert body == {
        "steps": [
            {
                "pipeline_path": PIPELINE,
                "pipeline_name": "Quickstart",
                "pipeline_uuid": "9b1f4e2a-8c3d-4b5e-a6f7-0d1c2b3a4e5f",
                "project_dir": str(project),
                "pipeline_in_project": "quickstart.orchest",
                "step_uuid": SUMMARIZE,
                "title": "Summarize",
                "parents": [CLEAN],
                "parameters": {},
                "outputs_dir": str(
                    project / ".orchest/pipelines/9b1f4e2a-8c3d-4b5e-a6f7-0d1c2b3a4e5f/data"
                ),
                "data_dir": str(data_dir),
            }
        ]
    }
    # The notebook's absolute path (as kernels know it) gives the same.
    code, same = await api("GET", "steps", params={"file": str(project / "summarize.ipynb")})
    assert (code, same) == (200, body)


async def test_files_of_no_step_and_invalid_pipelines(project: Path, api: ApiCall) -> None:
    code, body = await api("GET", "steps", params={"file": "quickstart/README.md"})
    assert (code, body) == (200, {"steps": []})
    broken = json.loads((project / "quickstart.orchest").read_text())
    del broken["steps"][CLEAN]["file_path"]
    (project / "broken.orchest").write_text(json.dumps(broken))
    code, body = await api("GET", "steps", params={"file": "quickstart/summarize.ipynb"})
    assert [step["pipeline_path"] for step in body["steps"]] == [PIPELINE]


async def test_paths_outside_the_root_are_refused(
    project: Path, api: ApiCall, jp_root_dir: Path
) -> None:
    code, body = await api("GET", "steps")
    assert (code, body["message"]) == (400, "Name the file whose steps you want as `file`.")
    code, body = await api("GET", "steps", params={"file": "quickstart/../../etc/passwd"})
    assert code == 400 and "'..' are refused" in body["message"]
    outside = jp_root_dir.parent / "elsewhere.ipynb"
    code, body = await api("GET", "steps", params={"file": str(outside)})
    assert (code, body["message"]) == (400, f"'{outside}' is not under the server's root folder.")
