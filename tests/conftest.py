import json
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from jupyter_orchest.store.database import sqlite_url

pytest_plugins = ["pytest_jupyter.jupyter_server"]

POSTGRES_URL = os.environ.get("JUPYTER_ORCHEST_TEST_POSTGRES_URL", "")
"""A PostgreSQL server's URL (CI starts one with `.ci/postgres start`); its tests are skipped
without it, unless JUPYTER_ORCHEST_REQUIRE_POSTGRES=1 (CI) makes them fail."""
POSTGRES_REQUIRED = os.environ.get("JUPYTER_ORCHEST_REQUIRE_POSTGRES") == "1"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of each kind: a SQLite file, and a database of its own on the
    PostgreSQL server (dropped afterwards)."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "orchest.db")
        return
    if not POSTGRES_URL:
        reason = "no PostgreSQL server: set JUPYTER_ORCHEST_TEST_POSTGRES_URL"
        if POSTGRES_REQUIRED:
            pytest.fail(f"{reason} (JUPYTER_ORCHEST_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    name = f"orchest_test_{uuid.uuid4().hex[:12]}"
    server = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        server.dispose()


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    # Steps run with the server's own kernels: tests of environments turn them on themselves.
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_orchest": True}},
        "OrchestApp": {"environment_backend": "none"},
    }


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
