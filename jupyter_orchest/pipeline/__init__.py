"""The pipeline model: Orchest's ``*.orchest`` definition format, its validation and its graph.

Pure Python with no server code, so the server, the engine and command-line tools share it.
Loading a file is ``parse_definition`` then ``ensure_valid``; saving is ``ensure_valid`` then
``dump_definition``.
"""

from .definition import FORMAT_VERSION, dump_definition, new_definition, parse_definition
from .discovery import DiscoveredPipeline, find_pipelines, folder_in_project, project_folder
from .errors import PipelineValidationError, Rule, UnknownStepError, ValidationIssue
from .graph import PipelineGraph
from .validation import (
    SUPPORTED_EXTENSIONS,
    ensure_valid,
    pipeline_schema,
    validate_definition,
)

__all__ = [
    "FORMAT_VERSION",
    "SUPPORTED_EXTENSIONS",
    "DiscoveredPipeline",
    "PipelineGraph",
    "PipelineValidationError",
    "Rule",
    "UnknownStepError",
    "ValidationIssue",
    "dump_definition",
    "ensure_valid",
    "find_pipelines",
    "folder_in_project",
    "new_definition",
    "parse_definition",
    "pipeline_schema",
    "project_folder",
    "validate_definition",
]
