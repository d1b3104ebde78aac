"""Each tool's adapter: writes a workload in the tool's own format and says how to run it.

Every adapter writes into a fresh, empty run folder and returns the command a user would type
there. Steps run with the run folder as their working directory in every tool.
"""

import json
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .workloads import MARKER_DIR, Step, Workload, notebook_json

# Stable identifiers, so that generated files are the same from one run to the next.
_NAMESPACE = uuid.UUID("6c1c1d6e-5b0e-4a57-9a3c-0b3f5e2f7a10")


def stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


@dataclass(frozen=True)
class Command:
    argv: list[str]
    env: dict[str, str]


class Tool(Protocol):
    name: str
    """Short name, used on the command line and in the results."""
    label: str
    """How the report names it."""
    version: str
    """What exactly ran: a package version, or a commit."""

    def unavailable_reason(self) -> str | None:
        """Why this tool cannot run here, or None when it can."""

    def prepare(self, workload: Workload, run_dir: Path) -> Command:
        """Write the workload into `run_dir` and return the command that runs it there."""

    def check(self, workload: Workload, run_dir: Path) -> str | None:
        """After a run that exited 0: what is missing, or None when the run did its work."""


def environment_with(bin_dir: Path) -> dict[str, str]:
    """The caller's environment with `bin_dir` first on PATH, as an activated venv has it."""
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = os.pathsep.join([str(bin_dir), env.get("PATH", "")])
    if (bin_dir.parent / "pyvenv.cfg").is_file():
        env["VIRTUAL_ENV"] = str(bin_dir.parent)
    return env


def write_notebook(path: Path, cells: list[str], parameters: str | None = None) -> None:
    path.write_text(json.dumps(notebook_json(cells, parameters), indent=1) + "\n")


def write_plain_steps(workload: Workload, run_dir: Path) -> None:
    """The steps as a user would write them for a tool that needs nothing special."""
    for step in workload.steps:
        target = run_dir / step.file_name
        if step.kind == "notebook":
            write_notebook(target, list(step.cells))
        else:
            target.write_text(step.cells[0])
            if step.kind == "shell":
                target.chmod(0o755)


def check_outputs(workload: Workload, run_dir: Path) -> str | None:
    """What a run failed to leave: an expected file, or a kernel of its own for each notebook."""
    missing = [name for name in workload.expected_files if not (run_dir / name).is_file()]
    if missing:
        return f"missing outputs: {', '.join(missing)}"
    markers = sorted((run_dir / MARKER_DIR).glob("*"))
    kernels = {marker.read_text().strip() for marker in markers}
    if len(kernels) < len(markers):
        return f"{len(markers)} notebooks ran in only {len(kernels)} kernel processes"
    return None


@dataclass(frozen=True)
class Installed:
    """Where a competitor's environment is, and how its install went."""

    venv: Path
    error: str | None = None
    """Why the install failed; None when it worked."""
    version: str = ""


class VenvTool:
    """A competitor installed in its own virtual environment."""

    name = ""
    label = ""

    def __init__(self, installed: Installed) -> None:
        self.installed = installed
        self.version = installed.version

    def unavailable_reason(self) -> str | None:
        if self.installed.error is not None:
            return f"install failed: {self.installed.error}"
        return None

    def command(self, executable: str, *args: str) -> Command:
        bin_dir = self.installed.venv / "bin"
        return Command([str(bin_dir / executable), *args], environment_with(bin_dir))

    def check(self, workload: Workload, run_dir: Path) -> str | None:
        return check_outputs(workload, run_dir)


PAPERMILL_DRIVER = '''\
"""Runs the pipeline's steps one after another: notebooks with papermill, scripts as processes."""

import subprocess
import sys
from pathlib import Path

import papermill

STEPS = {steps}

Path("out").mkdir(exist_ok=True)
for file_name in STEPS:
    if file_name.endswith(".ipynb"):
        papermill.execute_notebook(file_name, f"out/{{file_name}}", kernel_name="python3")
    elif file_name.endswith(".py"):
        subprocess.run([sys.executable, file_name], check=True)
    else:
        subprocess.run(["bash", file_name], check=True)
'''


class Papermill(VenvTool):
    """papermill's Python API in a loop over the steps in dependency order, as a user's driver
    script would do it: one process, one fresh kernel per notebook."""

    name = "papermill"
    label = "papermill (sequential)"

    def prepare(self, workload: Workload, run_dir: Path) -> Command:
        write_plain_steps(workload, run_dir)
        order = [step.file_name for step in workload.topological_order()]
        (run_dir / "run_pipeline.py").write_text(PAPERMILL_DRIVER.format(steps=repr(order)))
        return self.command("python", "run_pipeline.py")


class Elyra(VenvTool):
    """`elyra-pipeline run`: Elyra's local runner, which runs nodes one at a time (notebooks
    in place with papermill, scripts as processes). It has no shell node, so a shell step
    becomes a Python node that runs the script with bash."""

    name = "elyra"
    label = "Elyra (local runner)"

    def prepare(self, workload: Workload, run_dir: Path) -> Command:
        write_plain_steps(workload, run_dir)
        node_files: dict[str, str] = {}
        for step in workload.steps:
            node_files[step.name] = step.file_name
            if step.kind == "shell":
                wrapper = f"{step.name}_sh.py"
                (run_dir / wrapper).write_text(
                    "import subprocess\n\n"
                    f'subprocess.run(["bash", "{step.file_name}"], check=True)\n'
                )
                node_files[step.name] = wrapper
        pipeline = elyra_pipeline(workload, node_files)
        (run_dir / f"{workload.name}.pipeline").write_text(json.dumps(pipeline, indent=2) + "\n")
        return self.command("elyra-pipeline", "run", f"{workload.name}.pipeline")


def elyra_pipeline(workload: Workload, node_files: dict[str, str]) -> dict[str, object]:
    """An Elyra pipeline file (pipeline format version 8, generic nodes)."""

    def node(step: Step) -> dict[str, object]:
        file_name = node_files[step.name]
        op = "execute-notebook-node" if file_name.endswith(".ipynb") else "execute-python-node"
        links = [
            {
                "id": stable_uuid(workload.name, "link", parent, step.name),
                "node_id_ref": stable_uuid(workload.name, parent),
                "port_id_ref": "outPort",
            }
            for parent in step.parents
        ]
        return {
            "id": stable_uuid(workload.name, step.name),
            "type": "execution_node",
            "op": op,
            "app_data": {
                "label": step.name,
                "component_parameters": {
                    "filename": file_name,
                    # Required by Elyra's parser; its local runner ignores it.
                    "runtime_image": "unused-by-the-local-runner:latest",
                    "outputs": [],
                    "env_vars": [],
                    "dependencies": [],
                    "include_subdirectories": False,
                },
                "ui_data": {"label": step.name},
            },
            "inputs": [{"id": "inPort", "links": links}] if links else [{"id": "inPort"}],
            "outputs": [{"id": "outPort"}],
        }

    return {
        "doc_type": "pipeline",
        "version": "3.0",
        "json_schema": "http://api.dataplatform.ibm.com/schemas/common-pipeline/pipeline-flow/pipeline-flow-v3-schema.json",
        "id": stable_uuid(workload.name, "elyra"),
        "primary_pipeline": "primary",
        "pipelines": [
            {
                "id": "primary",
                "nodes": [node(step) for step in workload.steps],
                "app_data": {
                    "ui_data": {"comments": []},
                    "version": 8,
                    "properties": {"name": workload.name, "runtime": "Generic"},
                },
                "runtime_ref": "",
            }
        ],
        "schemas": [],
    }


class Ploomber(VenvTool):
    """`ploomber build` on a pipeline.yaml, with the serial executor or the parallel one.
    Ploomber reads a notebook's dependencies from its `parameters` cell (`upstream`), so each
    notebook and script gets one; a shell step must name its output `{{product}}`."""

    def __init__(self, installed: Installed, processes: int = 0) -> None:
        super().__init__(installed)
        self.processes = processes
        if processes:
            self.name = "ploomber-parallel"
            self.label = f"Ploomber (parallel, {processes} workers)"
        else:
            self.name = "ploomber"
            self.label = "Ploomber (serial)"

    def prepare(self, workload: Workload, run_dir: Path) -> Command:
        tasks: list[dict[str, str]] = []
        for step in workload.steps:
            target = run_dir / step.file_name
            upstream = repr(list(step.parents)) if step.parents else "None"
            parameters = f"upstream = {upstream}\nproduct = None"
            product = f"out/{step.name}.ipynb"
            if step.kind == "notebook":
                write_notebook(target, list(step.cells), parameters)
            elif step.kind == "python":
                target.write_text(
                    f'# %% tags=["parameters"]\n{parameters}\n\n# %%\n{step.cells[0]}'
                )
            else:
                if step.output is None:
                    raise ValueError(f"shell step {step.name} must declare its output")
                product = step.output
                # Ploomber finds a shell step's dependencies in its upstream references.
                after = " ".join(f'{{{{ upstream["{parent}"] }}}}' for parent in step.parents)
                script = step.cells[0].replace(step.output, "{{ product }}")
                target.write_text(f"{script}# runs after: {after}\n")
            tasks.append({"source": step.file_name, "name": step.name, "product": product})
        (run_dir / "pipeline.yaml").write_text(self.pipeline_yaml(tasks))
        return self.command("ploomber", "build", "--entry-point", "pipeline.yaml", "--force")

    def pipeline_yaml(self, tasks: list[dict[str, str]]) -> str:
        # JSON strings are valid YAML scalars, so json.dumps quotes every value safely.
        if self.processes:
            lines = [
                "executor:",
                "  dotted_path: ploomber.executors.Parallel",
                f"  processes: {self.processes}",
            ]
        else:
            lines = ["executor: serial"]
        lines.append("tasks:")
        for task in tasks:
            lines.append(f"  - source: {json.dumps(task['source'])}")
            lines.append(f"    name: {json.dumps(task['name'])}")
            lines.append(f"    product: {json.dumps(task['product'])}")
        return "\n".join(lines) + "\n"


class JupyterOrchest:
    """Our engine's headless CLI, `jupyter orchest run PIPELINE.orchest`, from the
    repository's own environment."""

    name = "jupyter-orchest"
    label = "jupyter-orchest"

    def __init__(self, jupyter: str | None, example_environments: Path, version: str = "") -> None:
        self.jupyter = jupyter
        self.version = version
        self.example_environments = example_environments
        """The example project's `.orchest/environments`, reused by the generated projects."""

    def unavailable_reason(self) -> str | None:
        if self.jupyter is None:
            return "no `jupyter` executable found (pass --jupyter)"
        argv = [self.jupyter, "orchest", "run", "--help"]
        try:
            probe = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        except OSError as error:
            return f"`jupyter orchest run` cannot start: {error}"
        if probe.returncode != 0:
            lines = (probe.stderr or probe.stdout).strip().splitlines()
            last = lines[-1] if lines else f"exit code {probe.returncode}"
            return f"`jupyter orchest run --help` failed: {last}"
        return None

    def prepare(self, workload: Workload, run_dir: Path) -> Command:
        if self.jupyter is None:
            raise RuntimeError("jupyter-orchest is not available")
        if workload.orchest_project is not None:
            shutil.copytree(workload.orchest_project, run_dir, dirs_exist_ok=True)
            pipeline_file = next(run_dir.glob("*.orchest")).name
        else:
            write_plain_steps(workload, run_dir)
            shutil.copytree(
                self.example_environments, run_dir / ".orchest" / "environments", dirs_exist_ok=True
            )
            environment = next(self.example_environments.iterdir()).name
            pipeline_file = f"{workload.name}.orchest"
            definition = orchest_pipeline(workload, environment)
            (run_dir / pipeline_file).write_text(json.dumps(definition, indent=4) + "\n")
        jupyter = Path(self.jupyter)
        # A cache of the run's own: every timed run computes every step, as the others do.
        cache = ["--cache-dir", str(run_dir / ".cache")]
        return Command(
            [self.jupyter, "orchest", "run", pipeline_file, *cache],
            environment_with(jupyter.parent),
        )

    def check(self, workload: Workload, run_dir: Path) -> str | None:
        if workload.orchest_project is None:
            return check_outputs(workload, run_dir)
        # The example's steps pass data with Orchest's SDK: every step but the shell one
        # leaves outputs in Orchest's layout, .orchest/pipelines/<pipeline>/data/<step>/.
        definition = json.loads(next(run_dir.glob("*.orchest")).read_text())
        data = run_dir / ".orchest" / "pipelines" / definition["uuid"] / "data"
        empty = [
            step["title"]
            for step in definition["steps"].values()
            if not step["file_path"].endswith(".sh") and not any((data / step["uuid"]).glob("*"))
        ]
        return f"no outputs from: {', '.join(empty)}" if empty else None


def orchest_pipeline(workload: Workload, environment: str) -> dict[str, object]:
    """A pipeline definition in Orchest's format 1.0.0, one step per workload step."""
    steps = {}
    for index, step in enumerate(workload.steps):
        step_uuid = stable_uuid(workload.name, step.name)
        steps[step_uuid] = {
            "environment": environment,
            "file_path": step.file_name,
            "incoming_connections": [stable_uuid(workload.name, p) for p in step.parents],
            # Orchest names the kernel by language, as the example project does.
            "kernel": {"display_name": "Python 3", "name": "python"},
            "meta_data": {"hidden": False, "position": [80 + 200 * index, 160]},
            "parameters": {},
            "title": step.name,
            "uuid": step_uuid,
        }
    return {
        "name": workload.name,
        "parameters": {},
        "services": {},
        "settings": {
            "auto_eviction": False,
            "data_passing_memory_size": "1GB",
            "max_steps_parallelism": workload.max_steps_parallelism,
        },
        "steps": steps,
        "uuid": stable_uuid(workload.name, "pipeline"),
        "version": "1.0.0",
    }
