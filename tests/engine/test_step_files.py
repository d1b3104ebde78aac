"""The files steps write beside their outputs, kept with their cached results: real runs
(real kernels and processes, a real cache folder, a real SQLite database) that write files in
their project and data folders, then a copy of the project, deleted and edited files, parallel
writers, files too big, links out of the folders."""

import io
import shutil
from pathlib import Path

import pytest

from cached_runs import Runs, notebook
from jupyter_orchest.engine.file_restore import UnsafePath, write_under
from jupyter_orchest.engine.model import RunState
from jupyter_orchest.engine.provenance import StepProvenance
from support import WritePipeline, make_step

# A notebook writing a figure into a new folder of the project, and its input for `train`.
LOAD = notebook(
    ("markdown", "# Load"),
    (
        "code",
        "import os, orchest\n"
        "os.makedirs('figures', exist_ok=True)\n"
        "with open('figures/plot.svg', 'w') as f:\n"
        "    f.write('<svg>' + 'x' * 300 + '</svg>')\n"
        "orchest.output(list(range(5)), name='rows')",
    ),
)
# A script writing a model in the data folder, a result in the project, and a file outside
# both, which nothing may ever record or write back.
TRAIN = """\
import json, os, orchest
rows = orchest.get_inputs()["rows"]
data = os.environ["ORCHEST_DATA_DIR"]
os.makedirs(os.path.join(data, "models"), exist_ok=True)
with open(os.path.join(data, "models", "model.bin"), "wb") as f:
    f.write(bytes(range(256)) * 40)
with open("result.json", "w") as f:
    json.dump({"total": sum(rows)}, f)
with open(os.environ["ELSEWHERE"], "w") as f:
    f.write("outside")
print("trained")
"""
REPORT = """\
set -eu
mkdir -p "$ORCHEST_DATA_DIR/reports"
cat result.json > "$ORCHEST_DATA_DIR/reports/summary.txt"
echo done
"""


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "elsewhere.txt"
    monkeypatch.setenv("ELSEWHERE", str(path))
    return path


def write_chain(write_pipeline: WritePipeline) -> None:
    """load -> train -> report, each writing files."""
    write_pipeline(
        [
            make_step("load", "load.ipynb", [], kernel={"name": "python3"}),
            make_step("train", "train.py", ["load"]),
            make_step("report", "report.sh", ["train"]),
        ],
        {"load.ipynb": LOAD, "train.py": TRAIN, "report.sh": REPORT},
    )


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file under the folder but the engine's own, by path."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file() and ".orchest" not in path.relative_to(folder).parts
    }


def recorded(record: StepProvenance | None) -> dict[str, tuple[int, tuple[str, ...]]]:
    assert record is not None
    return {f"{f.root}:{f.path}": (f.size, f.shared_with) for f in record.files}


def test_a_copy_of_the_project_gets_every_file_back_byte_for_byte_without_executing(
    write_pipeline: WritePipeline, project: Path, tmp_path: Path, elsewhere: Path
) -> None:
    write_chain(write_pipeline)
    sources = tmp_path / "sources"
    shutil.copytree(project, sources)
    before = files_under(project)

    first = Runs(project, tmp_path)()
    assert first.state == RunState.SUCCESS, first.steps
    made = {path: content for path, content in files_under(project).items() if path not in before}
    changed = {p for p, content in files_under(project).items() if before.get(p) != content}
    assert set(made) == {
        "figures/plot.svg",
        "result.json",
        "data/models/model.bin",
        "data/reports/summary.txt",
    }
    assert changed == set(made) | {"load.ipynb"}  # the notebook holds its outputs
    assert elsewhere.read_text() == "outside"

    # What each step wrote, by folder, as its provenance says; never the notebook written
    # back, the engine's own files, or the file outside the folders.
    ledger = Runs(project, tmp_path).ledger
    assert recorded(ledger.get("run1", "load")) == {
        "project:figures/plot.svg": (len(made["figures/plot.svg"]), ())
    }
    assert recorded(ledger.get("run1", "train")) == {
        "data:models/model.bin": (10240, ()),
        "project:result.json": (len(made["result.json"]), ()),
    }
    assert recorded(ledger.get("run1", "report")) == {
        "data:reports/summary.txt": (len(made["result.json"]), ())
    }

    # A copy of the sources alone (a new clone), run with the same cache: nothing executes.
    copy = tmp_path / "copy"
    shutil.copytree(sources, copy)
    elsewhere.unlink()
    copy_runs = Runs(copy, tmp_path, prefix="copy")
    again = copy_runs()
    assert again.state == RunState.SUCCESS
    assert again.cached == {"load", "train", "report"}
    assert all(ledger.executions("copy1", step) == [] for step in again.steps)
    copied = files_under(copy)
    assert {path: copied[path] for path in made} == made
    assert copied["load.ipynb"] == files_under(project)["load.ipynb"]
    assert not elsewhere.exists()
    # The restored step's provenance lists the files it put back.
    assert recorded(ledger.get("copy1", "train")) == recorded(ledger.get("run1", "train"))


def test_a_deleted_file_comes_back_and_an_edited_one_gets_the_cached_bytes(
    write_pipeline: WritePipeline, project: Path, tmp_path: Path, elsewhere: Path
) -> None:
    write_chain(write_pipeline)
    runs = Runs(project, tmp_path)
    runs()
    made = files_under(project)
    (project / "data" / "models" / "model.bin").unlink()
    shutil.rmtree(project / "figures")
    (project / "result.json").write_text('{"total": "edited by hand"}')
    untouched = (project / "data" / "reports" / "summary.txt").stat()

    again = runs()
    assert again.cached == {"load", "train", "report"}
    assert files_under(project) == made
    # A file as the step left it is not written again.
    after = (project / "data" / "reports" / "summary.txt").stat()
    assert (after.st_ino, after.st_mtime_ns) == (untouched.st_ino, untouched.st_mtime_ns)


def test_a_file_bigger_than_the_limit_makes_the_step_uncacheable_and_says_so(
    write_pipeline: WritePipeline, project: Path, tmp_path: Path
) -> None:
    write_pipeline(
        [make_step("big", "big.py", []), make_step("small", "small.py", ["big"])],
        {
            "big.py": "open('big.bin', 'wb').write(b'x' * 3000)\n",
            "small.py": "open('small.bin', 'wb').write(b'x' * 500)\n",
        },
    )
    runs = Runs(project, tmp_path, max_file_bytes=1000)
    first = runs()
    why = (
        "its result cannot be cached: `big.bin` is 2.9 KiB, more than the 1000 B the cache "
        "takes in a file (the setting cache_max_file_bytes)"
    )
    assert first.reasons("big") == ("not run before", why)
    assert first.reasons("small") == ("not run before",)
    record = runs.ledger.get("run1", "big")
    assert record is not None and record.not_cached.startswith("`big.bin` is 2.9 KiB")
    assert recorded(record) == {"project:big.bin": (3000, ())}

    second = runs()
    assert second.cached == {"small"}
    assert second.reasons("big")[0] == (
        "its last result could not be cached: `big.bin` is 2.9 KiB, more than the 1000 B the "
        "cache takes in a file (the setting cache_max_file_bytes)"
    )


def test_files_more_than_the_whole_cache_holds_make_the_step_uncacheable(
    write_pipeline: WritePipeline, project: Path, tmp_path: Path
) -> None:
    write_pipeline(
        [make_step("a", "a.py", [])],
        {"a.py": "for n in range(3):\n    open(f'{n}.bin', 'wb').write(b'x' * 800)\n"},
    )
    runs = Runs(project, tmp_path, max_bytes=2000)
    assert runs().reasons("a")[1] == (
        "its result cannot be cached: its files take 2.3 KiB, more than the whole cache "
        "holds (2.0 KiB)"
    )
    assert runs.cache.usage().entries == 0


def test_steps_that_opt_out_record_nothing(
    write_pipeline: WritePipeline, project: Path, tmp_path: Path
) -> None:
    write_pipeline(
        [make_step("clock", "clock.py", [], cache=False)],
        {"clock.py": "import time\nopen('now.txt', 'w').write(str(time.time()))\n"},
    )
    runs = Runs(project, tmp_path)
    runs()
    record = runs.ledger.get("run1", "clock")
    assert record is not None and record.files == () and record.not_cached == ""
    assert runs.cache.usage().entries == 0
    assert runs().reasons("clock") == ("caching is off for this step",)


def test_declared_outputs_are_recorded_even_unchanged_and_negations_left_out(
    write_pipeline: WritePipeline, project: Path, tmp_path: Path
) -> None:
    """A step that makes its model only when it is missing declares it, so that its result
    keeps it; a script it writes is recorded only once declared; scratch files and hidden
    ones are left out."""
    (project / "models").mkdir()
    (project / "models" / "model.bin").write_bytes(b"trained before")
    (project / "notes.txt").write_text("not the step's")
    write_pipeline(
        [
            make_step(
                "train",
                "train.py",
                [],
                output_files=["models/", "generated.py", "!/data/scratch/"],
            )
        ],
        {
            "train.py": (
                "import os\n"
                "if not os.path.exists('models/model.bin'):\n"
                "    open('models/model.bin', 'wb').write(b'trained now')\n"
                "open('generated.py', 'w').write('print(1)')\n"
                "open('other.py', 'w').write('print(2)')\n"
                "open('.hidden', 'w').write('hidden')\n"
                "scratch = os.path.join(os.environ['ORCHEST_DATA_DIR'], 'scratch')\n"
                "os.makedirs(scratch, exist_ok=True)\n"
                "open(os.path.join(scratch, 'tmp.bin'), 'wb').write(b'0' * 10)\n"
                "data = os.environ['ORCHEST_DATA_DIR']\n"
                "open(os.path.join(data, 'kept.bin'), 'wb').write(b'1')\n"
            )
        },
    )
    runs = Runs(project, tmp_path)
    runs()
    assert recorded(runs.ledger.get("run1", "train")) == {
        "project:models/model.bin": (len(b"trained before"), ()),
        "project:generated.py": (8, ()),
        "data:kept.bin": (1, ()),
    }


PARALLEL = """\
import time
time.sleep(0.4)
open("{name}.txt", "w").write("{name}")
time.sleep(0.4)
"""


def test_files_written_while_another_step_executed_are_never_restored_as_one_steps(
    write_pipeline: WritePipeline, project: Path, tmp_path: Path
) -> None:
    write_pipeline(
        [make_step("a", "a.py", []), make_step("b", "b.py", [])],
        {"a.py": PARALLEL.format(name="a"), "b.py": PARALLEL.format(name="b")},
    )
    sources = tmp_path / "sources"
    shutil.copytree(project, sources)
    runs = Runs(project, tmp_path)
    runs()
    # Each step saw both files appear while both executed: whose each is cannot be told.
    for step, other in (("a", "B"), ("b", "A")):
        files = recorded(runs.ledger.get("run1", step))
        assert files == {"project:a.txt": (1, (other,)), "project:b.txt": (1, (other,))}
    usage = runs.cache.usage()
    assert (usage.entries, usage.objects) == (2, 0)  # neither file is kept

    # Where the files are as they were, both steps are restored.
    assert runs().cached == {"a", "b"}
    # Where one is missing, the cache cannot put it back: both steps run again.
    (project / "a.txt").unlink()
    third = runs()
    assert third.computed == {"a", "b"}
    assert third.reasons("b") == (
        "`a.txt` is missing and the cache did not keep it, as `A` executed at the same time "
        "and could have written it",
    )
    assert (project / "a.txt").read_text() == "a"


def test_declaring_a_file_settles_whose_it_is(
    write_pipeline: WritePipeline, project: Path, tmp_path: Path
) -> None:
    write_pipeline(
        [
            make_step("a", "a.py", [], output_files=["a.txt"]),
            make_step("b", "b.py", [], output_files=["b.txt"]),
        ],
        {"a.py": PARALLEL.format(name="a"), "b.py": PARALLEL.format(name="b")},
    )
    sources = tmp_path / "sources"
    shutil.copytree(project, sources)
    runs = Runs(project, tmp_path)
    runs()
    assert recorded(runs.ledger.get("run1", "a")) == {"project:a.txt": (1, ())}
    assert recorded(runs.ledger.get("run1", "b")) == {"project:b.txt": (1, ())}

    copy = tmp_path / "copy"
    shutil.copytree(sources, copy)
    again = Runs(copy, tmp_path, prefix="copy")()
    assert again.cached == {"a", "b"}
    assert (copy / "a.txt").read_text() == "a" and (copy / "b.txt").read_text() == "b"


def test_a_file_is_never_written_back_through_a_link_out_of_its_folder(
    write_pipeline: WritePipeline, project: Path, tmp_path: Path
) -> None:
    write_pipeline(
        [make_step("a", "a.py", [])],
        {"a.py": "import os\nos.makedirs('out', exist_ok=True)\nopen('out/x.txt', 'w').write('x')"},
    )
    sources = tmp_path / "sources"
    shutil.copytree(project, sources)
    Runs(project, tmp_path)()

    # In a copy, `out` leads out of the project: the cache refuses to write there, and the
    # step runs (and writes through the link itself, as its code says).
    copy, outside = tmp_path / "copy", tmp_path / "outside"
    shutil.copytree(sources, copy)
    outside.mkdir()
    (copy / "out").symlink_to(outside)
    copy_runs = Runs(copy, tmp_path, prefix="copy")
    again = copy_runs()
    assert again.computed == {"a"}
    assert again.reasons("a") == (
        "its file cannot be written back: `out/x.txt` leads through the symbolic link `out`",
    )
    # The scan does not follow the link either: the step's file outside is not its output.
    assert recorded(copy_runs.ledger.get("copy1", "a")) == {}


def test_writing_back_refuses_every_way_out(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside)
    (root / "file-link").symlink_to(outside / "target.txt")
    for path in ("link/x.txt", "file-link", "../x.txt", "/etc/x", "a//b", "a/./b"):
        with pytest.raises(UnsafePath):
            write_under(root, path, io.BytesIO(b"bytes"))
    assert list(outside.iterdir()) == []
    written = write_under(root, "new/folder/x.txt", io.BytesIO(b"bytes"))
    assert written == root / "new" / "folder" / "x.txt" and written.read_bytes() == b"bytes"
    assert [p.name for p in written.parent.iterdir()] == ["x.txt"]  # no temporary left


def test_the_files_count_in_the_caches_size_and_go_with_their_entry(
    write_pipeline: WritePipeline, project: Path, tmp_path: Path
) -> None:
    write_pipeline(
        [make_step("a", "a.py", [])], {"a.py": "open('a.bin', 'wb').write(b'a' * 4000)\n"}
    )
    runs = Runs(project, tmp_path, max_bytes=10_000)
    runs()
    assert runs.cache.usage().bytes == 4000
    (project / "a.py").write_text("open('a.bin', 'wb').write(b'b' * 7000)\n")
    runs()  # the newer result pushes the older one, and its file, out
    usage = runs.cache.usage()
    assert (usage.entries, usage.objects, usage.bytes) == (1, 1, 7000)
    objects = [path for path in (tmp_path / "cache" / "objects").rglob("*") if path.is_file()]
    assert [path.stat().st_size for path in objects] == [7000]
