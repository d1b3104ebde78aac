"""Building environments as images: what the image holds, reuse of unchanged builds, and the
bad cases (no engine, no base image, a failing or cancelled setup script)."""

import asyncio
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from docker import DockerClient

from jupyter_orchest.environments.docker import labels
from jupyter_orchest.environments.model import BackendUnavailable, BuildFailed, BuildRequest

Built = Any  # the session's build: see conftest.Built
Kit = Any


def run_in_image(engine: DockerClient, image: str, code: str) -> str:
    output: bytes = engine.containers.run(image, ["python3", "-c", code], remove=True)
    return output.decode()


def test_the_image_holds_what_the_setup_script_installed(
    built: Built, engine: DockerClient
) -> None:
    assert built.built.reference.endswith(":1")
    assert built.built.fingerprint == engine.images.get(built.built.reference).id
    printed = run_in_image(
        engine,
        built.built.reference,
        "import six, ipykernel; print(open('/opt/setup-marker').read(), end='')",
    )
    assert printed == "the project was mounted\n"
    assert "setting up in /project-dir" in built.log.text
    # The build's variables (CA bundle, proxies) stay out of the image.
    variables = engine.images.get(built.built.reference).attrs["Config"]["Env"]
    assert not [v for v in variables if v.startswith(("PIP_CERT=", "REQUESTS_CA_BUNDLE="))]


def test_an_unchanged_rebuild_reuses_the_image(built: Built, kit: Kit) -> None:
    again, log = kit.build(built.backend, built.environment, number=2)
    assert again.fingerprint == built.built.fingerprint
    assert again.reference.endswith(":2")
    assert "Reusing image" in log.text
    assert asyncio.run(built.backend.is_present(again))
    asyncio.run(built.backend.remove(again))
    assert not asyncio.run(built.backend.is_present(again))
    assert asyncio.run(built.backend.is_present(built.built)), "the first build's tag stays"


def test_a_changed_script_builds_anew(built: Built, kit: Kit, tmp_path: Path) -> None:
    changed = kit.make_environment(
        built.project, built.environment.uuid, built.environment.setup_script + "# changed\n"
    )
    rebuilt, log = kit.build(built.backend, changed, number=3)
    try:
        assert rebuilt.fingerprint != built.built.fingerprint
        assert "Running setup_script.sh" in log.text
        assert "Kernel support: reusing" in log.text
    finally:
        asyncio.run(built.backend.remove(rebuilt))


def test_no_engine_is_a_clear_error(
    kit: Kit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = tmp_path / "closed.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{closed}")
    backend = kit.make_backend(tmp_path)
    with pytest.raises(BackendUnavailable) as raised:
        asyncio.run(backend.check())
    message = str(raised.value)
    assert f"DOCKER_HOST=unix://{closed}" in message
    assert 'environment_backend = "local"' in message


def test_a_missing_base_image_fails_the_build_clearly(
    engine: DockerClient, kit: Kit, tmp_path: Path
) -> None:
    backend = kit.make_backend(tmp_path)
    environment = kit.make_environment(
        tmp_path, "env-no-base", "true\n", base_image="jupyter-orchest/no-such-image:none"
    )
    with pytest.raises(BuildFailed) as raised:
        kit.build(backend, environment)
    message = str(raised.value)
    assert "'jupyter-orchest/no-such-image:none'" in message
    assert "docker pull" in message


def test_a_failing_setup_script_says_its_exit_code_and_last_lines(
    engine: DockerClient, kit: Kit, tmp_path: Path
) -> None:
    backend = kit.make_backend(tmp_path)
    script = "for i in $(seq 1 50); do echo line $i; done\necho broken >&2\nexit 3\n"
    environment = kit.make_environment(tmp_path, "env-failing", script)
    with pytest.raises(BuildFailed) as raised:
        kit.build(backend, environment)
    message = str(raised.value)
    assert "exit code 3" in message
    assert "broken" in message and "line 50" in message
    assert "line 1\n" not in message, "only the tail"
    assert not images_of(engine, "env-failing")


def test_a_cancelled_build_leaves_no_image_and_no_container(
    engine: DockerClient, kit: Kit, tmp_path: Path
) -> None:
    backend = kit.make_backend(tmp_path)
    environment = kit.make_environment(tmp_path, "env-cancelled", "echo started\nsleep 600\n")
    log: list[str] = []

    async def build_and_cancel() -> None:
        building = asyncio.ensure_future(backend.build(BuildRequest(environment, 1, log.append)))
        while "started" not in "".join(log):
            assert not building.done()
            await asyncio.sleep(0.1)
        building.cancel()
        with pytest.raises(asyncio.CancelledError):
            await building

    asyncio.run(build_and_cancel())
    assert not images_of(engine, "env-cancelled")
    assert not labels.containers_labelled(engine, labels.OWNER, labels.owner())


def images_of(engine: DockerClient, environment_uuid: str) -> list[Any]:
    return engine.images.list(filters={"label": f"{labels.ENVIRONMENT}={environment_uuid}"})


def test_containers_of_dead_servers_are_removed(engine: DockerClient, kit: Kit) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_owner = f"{socket.gethostname()}:{finished.stdout.strip()}"
    ids = [
        engine.api.create_container(
            kit.BASE_IMAGE, ["true"], labels={labels.OWNER: owner, labels.ROLE: "test"}
        )["Id"]
        for owner in (dead_owner, labels.owner())
    ]
    try:
        labels.remove_leftovers(engine)
        remaining = labels.containers_labelled(engine, labels.ROLE, "test")
        assert remaining == [ids[1]], "only the dead server's container goes"
    finally:
        labels.remove_containers(engine, ids)
