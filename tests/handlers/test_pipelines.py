import errno
import json
import os
from pathlib import Path
from typing import Any

from jupyter_orchest.pipeline import dump_definition
from jupyter_orchest.services import atomic

ApiCall = Any


def definition_with_steps(uuid: str = "pipe-1", **extra: Any) -> dict[str, Any]:
    return {
        "name": "Example",
        "uuid": uuid,
        "version": "1.0.0",
        "settings": {"auto_eviction": False, "data_passing_memory_size": "1GB"},
        "parameters": {"alpha": 0.1},
        "services": {},
        "steps": {
            "load": step("load", "Load", "load.ipynb", []),
            "train": step("train", "Train", "train.py", ["load"]),
        },
        **extra,
    }


def step(uuid: str, title: str, file_path: str, parents: list[str]) -> dict[str, Any]:
    return {
        "uuid": uuid,
        "title": title,
        "file_path": file_path,
        "incoming_connections": parents,
        "environment": "",
        "kernel": {"name": "python3", "display_name": "Python 3"},
        "parameters": {},
        "meta_data": {"hidden": False, "position": [0, 0]},
    }


async def test_create_writes_a_valid_empty_pipeline(api: ApiCall, jp_root_dir: Path) -> None:
    status, body = await api("POST", "pipelines", body={"name": "My pipeline"})
    assert status == 201
    assert body["path"] == "my-pipeline.orchest"
    assert body["valid"] is True and body["issues"] == []
    definition = body["definition"]
    assert definition["name"] == "My pipeline" and definition["version"] == "1.0.0"
    assert definition["steps"] == {}
    on_disk = (jp_root_dir / "my-pipeline.orchest").read_text()
    assert on_disk == json.dumps(definition, indent=4, sort_keys=True)


async def test_create_never_overwrites_and_picks_a_free_name(
    api: ApiCall, jp_root_dir: Path
) -> None:
    (jp_root_dir / "sub").mkdir()
    (jp_root_dir / "sub" / "untitled.orchest").write_text("precious")
    status, body = await api("POST", "pipelines", body={"name": "Untitled", "folder": "sub"})
    assert status == 201
    assert body["path"] == "sub/untitled-1.orchest"
    assert (jp_root_dir / "sub" / "untitled.orchest").read_text() == "precious"


async def test_create_refuses_bad_input(api: ApiCall, jp_root_dir: Path) -> None:
    assert (await api("POST", "pipelines", body={"name": "  "}))[0] == 400
    assert (await api("POST", "pipelines", body=["not", "an", "object"]))[0] == 400
    assert (await api("POST", "pipelines", body="{not json"))[0] == 400
    status, body = await api("POST", "pipelines", body={"name": "x", "folder": "missing"})
    assert status == 404 and "missing" in body["message"]
    status, body = await api("POST", "pipelines", body={"name": "x", "folder": "../.."})
    assert status == 400 and "not allowed" in body["message"]
    assert list(jp_root_dir.iterdir()) == []


async def test_list_finds_pipelines_with_their_projects(api: ApiCall, jp_root_dir: Path) -> None:
    project = jp_root_dir / "proj"
    (project / ".orchest").mkdir(parents=True)
    (project / "flows").mkdir()
    (project / "flows" / "main.orchest").write_text(dump_definition(definition_with_steps()))
    (jp_root_dir / "broken.orchest").write_text("{ nope")
    # Not served, so not listed: a link out of the root folder.
    outside = jp_root_dir.parent / "outside.orchest"
    outside.write_text(dump_definition(definition_with_steps()))
    (jp_root_dir / "escape.orchest").symlink_to(outside)
    status, body = await api("GET", "pipelines")
    assert status == 200
    assert body["pipelines"] == [
        {"path": "broken.orchest", "project": "", "name": "broken", "uuid": None, "valid": False},
        {
            "path": "proj/flows/main.orchest",
            "project": "proj",
            "name": "Example",
            "uuid": "pipe-1",
            "valid": True,
        },
    ]


async def test_get_reports_issues_of_a_malformed_file(api: ApiCall, jp_root_dir: Path) -> None:
    (jp_root_dir / "broken.orchest").write_text('{"name": "x",\n "steps": ')
    status, body = await api("GET", "pipelines", "broken.orchest")
    assert status == 200
    assert body["valid"] is False and body["definition"] is None
    assert body["issues"][0]["rule"] == "invalid-json"
    assert "line" in body["issues"][0]["message"]


async def test_get_missing_and_non_pipeline_paths(api: ApiCall, jp_root_dir: Path) -> None:
    status, body = await api("GET", "pipelines", "nowhere.orchest")
    assert status == 404 and "nowhere.orchest" in body["message"]
    (jp_root_dir / "notes.txt").write_text("hello")
    status, body = await api("GET", "pipelines", "notes.txt")
    assert status == 400 and ".orchest" in body["message"]


async def test_update_round_trips_unknown_keys_in_orchest_format(
    api: ApiCall, jp_root_dir: Path
) -> None:
    file = jp_root_dir / "p.orchest"
    file.write_text(dump_definition(definition_with_steps()))
    updated = definition_with_steps(future_key={"kept": [1, 2]})
    updated["steps"]["train"]["meta_data"]["color"] = "teal"
    status, body = await api("PUT", "pipelines", "p.orchest", body={"definition": updated})
    assert status == 200 and body["valid"] is True
    assert file.read_text() == json.dumps(updated, indent=4, sort_keys=True)
    assert json.loads(file.read_text())["future_key"] == {"kept": [1, 2]}


async def test_invalid_update_is_refused_and_leaves_the_file_alone(
    api: ApiCall, jp_root_dir: Path
) -> None:
    file = jp_root_dir / "p.orchest"
    original = dump_definition(definition_with_steps())
    file.write_text(original)

    cyclic = definition_with_steps()
    cyclic["steps"]["load"]["incoming_connections"] = ["train"]
    status, body = await api("PUT", "pipelines", "p.orchest", body={"definition": cyclic})
    assert status == 400
    assert [issue["rule"] for issue in body["issues"]] == ["cycle"]
    assert "Load" in body["message"] and "Train" in body["message"]

    escaping = definition_with_steps()
    escaping["steps"]["train"]["file_path"] = "../../etc/passwd.py"
    status, body = await api("PUT", "pipelines", "p.orchest", body={"definition": escaping})
    assert status == 400
    assert body["issues"][0]["pointer"] == "/steps/train/file_path"

    wrong_type = definition_with_steps()
    wrong_type["steps"]["train"]["title"] = 3
    assert (await api("PUT", "pipelines", "p.orchest", body={"definition": wrong_type}))[0] == 400
    assert (await api("PUT", "pipelines", "p.orchest", body={"nothing": 1}))[0] == 400
    assert file.read_text() == original
    assert [p.name for p in jp_root_dir.iterdir()] == ["p.orchest"]


async def test_update_of_a_missing_file_does_not_create_it(api: ApiCall, jp_root_dir: Path) -> None:
    body = {"definition": definition_with_steps()}
    assert (await api("PUT", "pipelines", "ghost.orchest", body=body))[0] == 404
    assert not (jp_root_dir / "ghost.orchest").exists()


async def test_delete_removes_only_pipeline_files(api: ApiCall, jp_root_dir: Path) -> None:
    (jp_root_dir / "p.orchest").write_text(dump_definition(definition_with_steps()))
    (jp_root_dir / "load.ipynb").write_text("{}")
    assert (await api("DELETE", "pipelines", "p.orchest"))[0] == 204
    assert not (jp_root_dir / "p.orchest").exists()
    assert (await api("DELETE", "pipelines", "load.ipynb"))[0] == 400
    assert (jp_root_dir / "load.ipynb").exists()
    assert (await api("DELETE", "pipelines", "p.orchest"))[0] == 404


async def test_paths_cannot_leave_the_root_folder(
    api: ApiCall, jp_root_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.orchest").write_text(dump_definition(definition_with_steps()))
    (jp_root_dir / "link").symlink_to(outside, target_is_directory=True)
    for path in ("link/secret.orchest", "../outside/secret.orchest", ".hidden/p.orchest"):
        status, body = await api("GET", "pipelines", path)
        assert status in (400, 404), path
        assert "secret" not in json.dumps(body.get("definition") if body else None)
    assert (await api("DELETE", "pipelines", "link/secret.orchest"))[0] == 400
    assert (outside / "secret.orchest").exists()


async def test_a_full_disk_on_save_is_a_clear_error_and_keeps_the_file(
    api: ApiCall, jp_root_dir: Path, monkeypatch: Any
) -> None:
    file = jp_root_dir / "p.orchest"
    original = dump_definition(definition_with_steps())
    file.write_text(original)

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    # A real full disk needs mount privileges; the failure is injected where it would occur.
    monkeypatch.setattr(atomic.os, "fsync", full_disk)
    body = {"definition": definition_with_steps(name="Renamed")}
    status, reply = await api("PUT", "pipelines", "p.orchest", body=body)
    assert status == 500
    assert "No space left on device" in reply["message"]
    assert "not changed" in reply["message"]
    assert "Traceback" not in json.dumps(reply)
    assert file.read_text() == original
    assert [p.name for p in jp_root_dir.iterdir()] == ["p.orchest"]
