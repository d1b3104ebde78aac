"""What a project folder holds besides its pipelines and environments: its uuid and the
environment variables of the project and its pipelines, kept in its private folder.

Below the services and above the engine: the server's services and the command line read
these when they prepare a run.
"""

from .identity import project_uuid, session_variables
from .variables import (
    MalformedVariables,
    ProjectVariables,
    VariablesError,
    check_variables,
    digests,
    merged,
    read_variables,
    write_variables,
)

__all__ = [
    "MalformedVariables",
    "ProjectVariables",
    "VariablesError",
    "check_variables",
    "digests",
    "merged",
    "project_uuid",
    "read_variables",
    "session_variables",
    "write_variables",
]
