from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

Factory = Callable[..., dict[str, Any]]


def _step(uuid: str, title: str, parents: list[str] | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "uuid": uuid,
        "title": title,
        "file_path": f"{title.lower()}.ipynb",
        "incoming_connections": parents or [],
        "environment": "",
        "kernel": {"name": "python", "display_name": "Python 3"},
        "parameters": {},
        "meta_data": {"hidden": False, "position": [0, 0]},
        **fields,
    }


def _pipeline(*steps: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "name": "example",
        "uuid": "9b1f4e2a-8c3d-4b5e-a6f7-0d1c2b3a4e5f",
        "version": "1.0.0",
        "settings": {"auto_eviction": False, "data_passing_memory_size": "1GB"},
        "parameters": {},
        "services": {},
        "steps": {step["uuid"]: step for step in steps},
        **fields,
    }


@pytest.fixture(scope="session")
def make_step() -> Factory:
    """A complete step as Orchest writes it; the file is named after the title."""
    return _step


@pytest.fixture(scope="session")
def make_pipeline() -> Factory:
    """A complete pipeline holding the given steps, in that order."""
    return _pipeline


@pytest.fixture(scope="session")
def orchest_text() -> str:
    """A pipeline file in Orchest's exact format, with keys this project does not know about."""
    return (FIXTURES / "housing.orchest").read_text(encoding="utf-8")
