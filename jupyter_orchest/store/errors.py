"""Why the database cannot be used, said for people: what is wrong and how to fix it."""

from pathlib import Path

SETTING = "OrchestApp.database_url"


class DatabaseUnavailable(Exception):
    """The database cannot be opened, read or written; the message names it and says what to
    do about it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def explain(reason: str, name: str, path: Path | None) -> str:
    """The message for a database error whose driver said `reason`; `name` is the database's
    path, or its URL without the password; `path` is its file, for SQLite."""
    said = reason.strip().splitlines()[0] if reason.strip() else "no reason given"
    lowered = said.lower()
    if "readonly" in lowered or "read-only" in lowered:
        where = " (the file and its folder)" if path else ""
        return (
            f"The database {name} is read-only, so nothing can be recorded (runs, jobs, "
            f"builds). Make it writable for the user running Jupyter{where}, or set "
            f"{SETTING} to a database it can write."
        )
    if path is not None and ("not a database" in lowered or "malformed" in lowered):
        return (
            f"The database {name} is damaged (SQLite: {said}). Move it aside, e.g. "
            f"`mv '{path}' '{path}.damaged'`, and restart Jupyter: a new, empty database is "
            f"made there (the damaged file keeps the old history), or set {SETTING} to "
            "another database."
        )
    if path is not None and "unable to open" in lowered:
        return (
            f"The database {name} cannot be opened (SQLite: {said}): check that its folder "
            "exists and that the user running Jupyter may write there (SQLite makes files "
            f"next to the database), or set {SETTING} to another database."
        )
    return (
        f"The database {name} cannot be used: {said}. Check that it is there and reachable, "
        f"or set {SETTING} to another database."
    )


def too_new(name: str, version: str, head: str) -> str:
    return (
        f"The database {name} has schema version {version}, made by a newer jupyter-orchest "
        f"than this one (which knows versions up to {head}). Upgrade jupyter-orchest, or set "
        f"{SETTING} to another database."
    )
