import json
import os
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_orchest.store.database import sqlite_url
from support import postgres_database

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    # Steps run with the server's own kernels: tests of environments turn them on themselves.
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_orchest": True}},
        "OrchestApp": {"environment_backend": "none"},
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of each kind: a SQLite file, and a database of its own on the
    PostgreSQL server."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "orchest.db")
        return
    with postgres_database() as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty database of its own on the PostgreSQL server."""
    with postgres_database() as url:
        yield url


ApiCall = Callable[..., Awaitable[tuple[int, Any]]]


@pytest.fixture
def api(jp_fetch: Any) -> ApiCall:
    """Call the extension's REST API as an authenticated user; returns (status, JSON body)."""

    async def call(
        method: str, *path: str, body: Any = None, params: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False, "params": params}
        if body is not None:
            kwargs["body"] = body if isinstance(body, str) else json.dumps(body)
        elif method in ("POST", "PUT"):
            kwargs["body"] = ""
        response = await jp_fetch("orchest", "api", *path, **kwargs)
        text = response.body.decode() if response.body else ""
        if "json" not in response.headers.get("Content-Type", "json"):
            return response.code, text
        return response.code, json.loads(text) if text else None

    return call


def _host_state(path: Path) -> tuple[int, list[str]] | None:
    """A folder of the machine as it is: None if it does not exist."""
    try:
        return path.stat().st_mtime_ns, sorted(os.listdir(path)) if path.is_dir() else []
    except FileNotFoundError:
        return None


@pytest.fixture
def host_orchest_paths() -> Iterator[None]:
    """Checks that the test leaves the machine's own /data and /project-dir as they were
    (on a machine without them: that they do not appear)."""
    folders = [Path("/data"), Path("/project-dir")]
    before = [_host_state(folder) for folder in folders]
    yield
    assert [_host_state(folder) for folder in folders] == before


@pytest.fixture
def open_tmp_path() -> Iterator[Path]:
    """A temporary folder other users may enter (pytest's own are root's alone when run as
    root), for tests that run something as another user."""
    with tempfile.TemporaryDirectory(prefix="jupyter-orchest-test-") as folder:
        os.chmod(folder, 0o755)
        yield Path(folder)
