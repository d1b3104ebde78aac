from pathlib import Path

import pytest

from support import WritePipeline, pipeline_writer


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    (folder / ".orchest").mkdir(parents=True)
    return folder


@pytest.fixture
def write_pipeline(project: Path) -> WritePipeline:
    return pipeline_writer(project)
