"""Fixtures of the magics' tests: the example project in a real server's root, and kernels."""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from magics.notebook_kernels import Kernels

from support import EXAMPLE_PROJECT


@pytest.fixture
def project(jp_root_dir: Path) -> Path:
    return Path(shutil.copytree(EXAMPLE_PROJECT, jp_root_dir / "quickstart"))


@pytest.fixture
def listening(jp_serverapp: Any, http_server_client: Any) -> None:
    """The test server answers HTTP requests from other processes (the kernels)."""


@pytest.fixture
def sessions(jp_fetch: Any) -> Any:
    """Call the server's own sessions API; returns (status, JSON body)."""

    async def call(method: str, *path: str, body: Any = None) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        if body is not None:
            kwargs["body"] = json.dumps(body)
        response = await jp_fetch("api", "sessions", *path, **kwargs)
        return response.code, json.loads(response.body) if response.body else None

    return call


@pytest.fixture
def kernels(
    listening: None, sessions: Any, jp_serverapp: Any, tmp_path: Path, jp_asyncio_loop: Any
) -> Iterator[Kernels]:
    started = Kernels(sessions, jp_serverapp, tmp_path)
    yield started
    jp_asyncio_loop.run_until_complete(started.close())
