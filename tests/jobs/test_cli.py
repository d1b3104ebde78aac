"""`jupyter orchest job ...` against a real server, over its REST API."""

import asyncio
import io
import json
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from jupyter_orchest.cli import main
from support import EXAMPLE_PROJECT


@pytest.fixture
def server(jp_serverapp: Any, http_server_client: Any, jp_http_port: int) -> tuple[str, str]:
    """The URL the test server listens at, and its token."""
    return (
        f"http://localhost:{jp_http_port}{jp_serverapp.base_url}",
        jp_serverapp.identity_provider.token,
    )


async def job_command(server: tuple[str, str], *argv: str) -> tuple[int, str, str]:
    """Run the CLI in a thread, so that the server in this event loop can answer it."""
    url, token = server
    out, err = io.StringIO(), io.StringIO()

    def run() -> int:
        with redirect_stdout(out), redirect_stderr(err):
            return main(["job", "--url", url, "--token", token, *argv])

    code = await asyncio.to_thread(run)
    return code, out.getvalue(), err.getvalue()


async def test_create_a_sweep_follow_it_and_list_jobs(
    server: tuple[str, str], jp_root_dir: Path, monkeypatch: Any
) -> None:
    shutil.copytree(EXAMPLE_PROJECT, jp_root_dir / "quickstart")
    monkeypatch.chdir(jp_root_dir)

    code, out, err = await job_command(
        server,
        "--json",
        "create",
        "quickstart/quickstart.orchest",
        "--name",
        "nightly",
        "--values",
        "n_rows=[10, 20]",
        "--values",
        "Clean.low=[1]",
        "--cron",
        "0 2 * * *",
        "--timezone",
        "Europe/Paris",
        "--env",
        "STAGE=test",
        "--keep",
        "3",
    )
    assert (code, err) == (0, "")
    job = json.loads(out)
    assert job["name"] == "nightly" and job["status"] == "PENDING"
    assert job["grid"]["pipeline"] == {"n_rows": [10, 20]}
    assert list(job["grid"]["steps"].values()) == [{"low": [1]}]
    assert job["env_variables"] == {"STAGE": "test"} and job["max_retained_runs"] == 3

    code, out, _ = await job_command(server, "list")
    assert code == 0 and job["id"] in out and "0 2 * * * (Europe/Paris)" in out
    code, out, _ = await job_command(server, "pause", job["id"])
    assert code == 0 and out.startswith(f"Job {job['id']} (nightly): PAUSED")
    code, out, _ = await job_command(server, "delete", job["id"])
    assert code == 0
    code, out, _ = await job_command(server, "list")
    assert out == "No jobs.\n"


async def test_the_servers_refusals_reach_the_user_as_messages(
    server: tuple[str, str], jp_root_dir: Path, monkeypatch: Any
) -> None:
    shutil.copytree(EXAMPLE_PROJECT, jp_root_dir / "quickstart")
    monkeypatch.chdir(jp_root_dir)

    code, out, err = await job_command(
        server, "create", "quickstart/quickstart.orchest", "--cron", "every day"
    )
    assert code == 2 and out == ""
    assert err.startswith("error: 'every day' is not a valid cron schedule")

    code, _, err = await job_command(server, "show", "nosuchjob")
    assert code == 2 and "There is no job 'nosuchjob'" in err
