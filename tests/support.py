"""Helpers shared by the tests: pipelines of real steps written into temporary projects."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat

from jupyter_orchest.pipeline import dump_definition


def make_step(uuid: str, file_path: str, parents: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "uuid": uuid,
        "title": uuid.capitalize(),
        "file_path": file_path,
        "incoming_connections": parents,
        "environment": "",
        "kernel": {"name": "python", "display_name": "Python 3"},
        "parameters": {},
        "meta_data": {"hidden": False, "position": [0, 0]},
        **extra,
    }


WritePipeline = Callable[..., Path]


def pipeline_writer(project: Path) -> WritePipeline:
    """Writes step files ({name: source}) and a pipeline of them; returns the pipeline file."""

    def write(
        steps: list[dict[str, Any]],
        files: dict[str, str],
        parameters: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
    ) -> Path:
        for name, source in files.items():
            (project / name).write_text(source)
        definition = {
            "name": "test",
            "uuid": "pipeline-1",
            "version": "1.0.0",
            "settings": settings or {},
            "parameters": parameters or {},
            "services": {},
            "steps": {step["uuid"]: step for step in steps},
        }
        file = project / "test.orchest"
        file.write_text(dump_definition(definition))
        return file

    return write


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


EXAMPLE_PROJECT = Path(__file__).resolve().parents[1] / "examples" / "quickstart"
FINISHED_RUN_STATES = ("SUCCESS", "FAILURE", "ABORTED")


# An Orchest project that uses /data and /project-dir as Orchest's documentation and examples
# do: absolute paths in a notebook, a script and a shell script, and a scikit-learn style
# fetcher given data_home="/data". What it leaves in its data folder is DATA_PROJECT_OUTPUT.
DATA_PROJECT_NOTEBOOK = [
    "import json, os",
    'with open("/project-dir/y.txt") as file:\n    y = file.read()',
    'os.makedirs("/data/notebook", exist_ok=True)\n'
    'with open("/data/notebook/out.json", "w") as file:\n'
    '    json.dump({"y": y}, file)\n'
    "same = {\n"
    '    "data": os.path.samefile("/data", os.environ["ORCHEST_DATA_DIR"]),\n'
    '    "project": os.path.samefile("/project-dir", os.environ["ORCHEST_PROJECT_DIR"]),\n'
    "}\n"
    'with open("/data/notebook/same.json", "w") as file:\n'
    "    json.dump(same, file)",
]
DATA_PROJECT_SCRIPT = '''\
import json
import os


def fetch_housing(data_home=None):
    """As scikit-learn's fetchers do: make data_home, download into it once."""
    data_home = os.path.expanduser(data_home or os.path.join("~", "scikit_learn_data"))
    folder = os.path.join(data_home, "cal_housing")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "cal_housing.csv")
    if not os.path.exists(path):
        with open(path, "w") as file:
            file.write("longitude,latitude\\n-122.23,37.88\\n")
    return path


fetch_housing(data_home="/data")
with open("/data/notebook/out.json") as file:
    y = json.load(file)["y"]
with open("/data/x", "w") as file:
    file.write(y.upper())
print("wrote /data/x")
'''
DATA_PROJECT_SHELL = """\
set -eu
cp /project-dir/y.txt /data/y-copy.txt
ls /data > /data/listing.txt
"""
DATA_PROJECT_OUTPUT = {
    "notebook/out.json": '{"y": "hello from the project\\n"}',
    "notebook/same.json": '{"data": true, "project": true}',
    "cal_housing/cal_housing.csv": "longitude,latitude\n-122.23,37.88\n",
    "x": "HELLO FROM THE PROJECT\n",
    "y-copy.txt": "hello from the project\n",
    "listing.txt": "cal_housing\nlisting.txt\nnotebook\nx\ny-copy.txt\n",
}


def write_data_project(project: Path, environment: str = "") -> Path:
    """The project above in `project` (made if need be); returns its pipeline file. Its steps
    use `environment` (the project's default when empty)."""
    (project / ".orchest").mkdir(parents=True, exist_ok=True)
    (project / "y.txt").write_text("hello from the project\n")
    notebook = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    notebook.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
    }
    notebook.cells = [nbformat.v4.new_code_cell(c) for c in DATA_PROJECT_NOTEBOOK]  # type: ignore[no-untyped-call]
    (project / "load.ipynb").write_text(nbformat.writes(notebook))  # type: ignore[no-untyped-call]
    return pipeline_writer(project)(
        [
            make_step("load", "load.ipynb", [], environment=environment),
            make_step("fetch", "fetch.py", ["load"], environment=environment),
            make_step("report", "report.sh", ["fetch"], environment=environment),
        ],
        {"fetch.py": DATA_PROJECT_SCRIPT, "report.sh": DATA_PROJECT_SHELL},
    )


def files_under(folder: Path) -> dict[str, str]:
    """Every file under the folder, by its path relative to it, with its text."""
    return {
        path.relative_to(folder).as_posix(): path.read_text()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
