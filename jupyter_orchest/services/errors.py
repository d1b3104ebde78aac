"""Errors a service raises for a caller's mistake, each with the HTTP status it maps to."""

from typing import Any


class OrchestError(Exception):
    """A problem the user can fix; its message says what is wrong and how to fix it."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_json(self) -> dict[str, Any]:
        return {"message": self.message}


class BadRequest(OrchestError):
    status = 400


class InvalidField(BadRequest):
    """A request whose field `field` (e.g. `env_variables.1X`) is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "field": self.field}


class NotFound(OrchestError):
    status = 404


class Conflict(OrchestError):
    status = 409


class StorageError(OrchestError):
    """The disk refused a read or a write (full, read-only, permissions)."""

    status = 500
