"""The outputs folder and its manifest, in process: formats, edge cases, the engine's helpers."""

import json
import threading
from pathlib import Path

import pytest

from jupyter_orchest.sdk import read_manifest
from jupyter_orchest.sdk.errors import InvalidMetaDataError, SerializationError
from jupyter_orchest.sdk.manifest import parse_manifest
from jupyter_orchest.sdk.outputs import load_output, write_output
from jupyter_orchest.sdk.serialization import Serialization

GOOD_ENTRY = {
    "name": "x",
    "file": "0.pickle",
    "serialization": "PICKLE",
    "size": 3,
    "run_uuid": "r",
    "written_at": "2024-01-01T00:00:00Z",
}


def _manifest(*entries: object, version: object = 1) -> str:
    return json.dumps({"version": version, "step_uuid": "s", "outputs": list(entries)})


def test_a_written_manifest_reads_back(tmp_path: Path) -> None:
    write_output(str(tmp_path), "s", "run", {"a": 1}, "x")
    write_output(str(tmp_path), "s", "run", [1], None)
    records = read_manifest(str(tmp_path))
    assert records is not None
    assert [(r.name, r.file, r.serialization) for r in records] == [
        ("x", "0.pickle", Serialization.PICKLE),
        (None, "1.pickle", Serialization.PICKLE),
    ]
    assert load_output(str(tmp_path), records[0], "x") == {"a": 1}


def test_no_manifest_means_no_outputs(tmp_path: Path) -> None:
    assert read_manifest(str(tmp_path)) is None
    assert read_manifest(str(tmp_path / "missing")) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        "{",
        _manifest(GOOD_ENTRY, version=2),
        _manifest(GOOD_ENTRY | {"file": "../../secret.pickle"}),
        _manifest(GOOD_ENTRY | {"file": "/etc/passwd"}),
        _manifest(GOOD_ENTRY | {"file": "0.pickle/.."}),
        _manifest(GOOD_ENTRY | {"file": "0.arrow"}),  # extension does not match PICKLE
        _manifest(GOOD_ENTRY | {"serialization": "MARSHAL"}),
        _manifest(GOOD_ENTRY | {"serialization": None}),
        _manifest(GOOD_ENTRY | {"name": "unnamed"}),
        _manifest(GOOD_ENTRY | {"name": 3}),
        _manifest(GOOD_ENTRY | {"size": -1}),
        _manifest(GOOD_ENTRY | {"size": True}),
        _manifest(GOOD_ENTRY | {"run_uuid": None}),
        _manifest(GOOD_ENTRY, GOOD_ENTRY | {"file": "1.pickle"}),  # a name twice
        _manifest(GOOD_ENTRY, GOOD_ENTRY | {"name": "y"}),  # a file twice
        _manifest("not an object"),
        json.dumps({"version": 1}),
        "[" * 100_000,
    ],
)
def test_manifests_not_written_by_the_sdk_are_refused(text: str) -> None:
    with pytest.raises(InvalidMetaDataError):
        parse_manifest(text)


def test_a_manifest_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_bytes(b"\xff\xfe{}")
    with pytest.raises(InvalidMetaDataError, match="UTF-8"):
        read_manifest(str(tmp_path))


def test_replacing_an_output_removes_its_old_file(tmp_path: Path) -> None:
    write_output(str(tmp_path), "s", "run", 1, "x")
    write_output(str(tmp_path), "s", "run", 2, "y")
    write_output(str(tmp_path), "s", "run", 3, "x")
    records = read_manifest(str(tmp_path))
    assert records is not None
    assert [(r.name, r.file) for r in records] == [("x", "2.pickle"), ("y", "1.pickle")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1.pickle", "2.pickle", "manifest.json"]


def test_outputs_from_many_threads_are_all_kept(tmp_path: Path) -> None:
    def output_some(start: int) -> None:
        for i in range(start, start + 10):
            write_output(str(tmp_path), "s", "run", i, f"n{i}")

    threads = [threading.Thread(target=output_some, args=(n * 10,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = read_manifest(str(tmp_path))
    assert records is not None
    assert sorted(r.name or "" for r in records) == sorted(f"n{i}" for i in range(40))
    assert len({r.file for r in records}) == 40


def test_serialized_data_must_be_bytes(tmp_path: Path) -> None:
    with pytest.raises(SerializationError, match="already be serialized"):
        write_output(str(tmp_path), "s", "run", {"a": 1}, "x", Serialization.PICKLE)
    with pytest.raises(ValueError, match="not a Serialization"):
        write_output(str(tmp_path), "s", "run", b"", "x", "PICKLE")  # type: ignore[arg-type]
    assert not tmp_path.joinpath("manifest.json").exists()


def test_serialized_bytes_are_stored_as_they_are(tmp_path: Path) -> None:
    import pickle

    write_output(str(tmp_path), "s", "run", pickle.dumps([1, 2]), "x", Serialization.PICKLE)
    records = read_manifest(str(tmp_path))
    assert records is not None
    assert load_output(str(tmp_path), records[0], "x") == [1, 2]


def test_arrow_outputs_outlive_their_replacement_and_the_file(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    write_output(str(tmp_path), "s", "run", pa.table({"x": list(range(1000))}), "t")
    records = read_manifest(str(tmp_path))
    assert records is not None
    before = pa.total_allocated_bytes()
    table = load_output(str(tmp_path), records[0], "t")
    assert pa.total_allocated_bytes() == before  # read without copying into Arrow's memory
    write_output(str(tmp_path), "s", "run", 0, "t")  # unlinks the mapped file
    assert not (tmp_path / records[0].file).exists()
    assert table.column("x").to_pylist() == list(range(1000))
