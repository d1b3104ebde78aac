"""The database of runs, jobs, builds and provenance: opened at its schema's HEAD, and used by
the stores through `read`, `write` and `begin`, each of which

- turns the driver's errors into DatabaseUnavailable, whose message says what is wrong and
  what to do (logged once per fault, again only after a write has worked since);
- notices a SQLite file that was deleted or replaced while the process runs. SQLite would go
  on writing into the deleted file, and a restart would lose all of it; instead the database
  at the path is used from then on (a new one when the file is gone), the runs this process
  has under way are carried into it, and the log says what went with the old file.

Uses are serialized by a lock (the event loop and worker threads share the store): so that
no connection to an old file is in use when the new file is opened (SQLite removes the WAL
files of a database by name when its last connection closes).
"""

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, insert, select
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    IntegrityError,
    NotSupportedError,
    ProgrammingError,
)
from sqlalchemy.orm import Session, sessionmaker

from ..engine.model import RunState
from .errors import SETTING, DatabaseUnavailable, explain
from .models import RunRecord, StepRunRecord
from .owners import this_process
from .schema import ensure_schema

log = logging.getLogger(__name__)

FileIdentity = tuple[int, int]
"""A file's device and inode: what changes when a file is replaced by another."""
UNFINISHED = [RunState.PENDING.value, RunState.STARTED.value]
_CALLERS_ERRORS = (IntegrityError, ProgrammingError, DataError, NotSupportedError)
"""Errors of a statement, not of the database: left to the code that made it."""


class Database:
    """See the module's docs. Raises DatabaseUnavailable when the database cannot be opened,
    is damaged, or was made by a newer version."""

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
            server = parsed.get_backend_name() != "sqlite"
            # Pooled connections are checked before use: a server's restart fails no request.
            self.engine = create_engine(parsed, pool_pre_ping=server)
        except (ArgumentError, ImportError, ValueError) as error:
            raise DatabaseUnavailable(_bad_url(url, error)) from None
        self.path = _sqlite_file(parsed)
        self.name = str(self.path) if self.path else parsed.render_as_string(hide_password=True)
        if self.engine.dialect.name == "sqlite":
            _enable_sqlite_wal(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._lock = threading.RLock()
        self._fault: str | None = None
        self._identity: FileIdentity | None = None
        with self._using(opening=True):
            ensure_schema(self.engine, self.name)
        self._identity = _identity(self.path)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._using(writing=False), self._sessions() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose changes are committed at the end of the block."""
        with self._using(), self._sessions.begin() as session:
            yield session

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection in a transaction committed at the end of the block."""
        with self._using(), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def _using(self, writing: bool = True, opening: bool = False) -> Iterator[None]:
        """A use of the database; when `opening`, a failure is its opener's to report. A
        fault is logged again only once a write has worked since (reads work on a
        read-only database)."""
        with self._lock:
            try:
                if not opening:
                    self._follow_file()
                yield
            except DBAPIError as error:
                if isinstance(error, _CALLERS_ERRORS):
                    raise
                message = explain(str(error.orig), self.name, self.path)
                # The next use connects afresh: a database made writable, or started, again
                # works without a restart.
                self.engine.dispose()
                if not opening and message != self._fault:
                    log.error("%s", message)
                    self._fault = message
                raise DatabaseUnavailable(message) from error
            if writing:
                self._fault = None

    def _follow_file(self) -> None:
        if self.path is None:
            return
        identity = _identity(self.path)
        if identity == self._identity:
            return
        carried = _runs_in_flight(self.engine)
        self.engine.dispose()  # closes every connection to the old file: none is in use
        # The old file's WAL and journal (SQLite keeps them when its file has moved) would
        # be read as the new file's own.
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ensure_schema(self.engine, self.name)
        self._identity = _identity(self.path)
        with self.engine.begin() as connection:
            count = _carry(connection, carried)
        if identity is None:
            log.warning(
                "The database %s was deleted while jupyter-orchest was using it: a new one "
                "was made there, and what happens is recorded in it from now on. The runs, "
                "jobs and builds recorded before went with the deleted file. Runs under way "
                "carried over: %d.",
                self.path,
                count,
            )
        else:
            log.warning(
                "The database %s was replaced by another file while jupyter-orchest was "
                "using it: the new file is used from now on. Runs under way carried over: %d.",
                self.path,
                count,
            )


Carried = tuple[list[dict[str, Any]], list[dict[str, Any]]]
"""Rows of runs and of their steps."""


def _runs_in_flight(engine: Engine) -> Carried:
    """This process's runs under way, read through a connection to the old file, if one is
    still open."""
    runs, steps = RunRecord.__table__, StepRunRecord.__table__
    try:
        with engine.connect() as connection:
            query = select(runs).where(runs.c.owner == this_process(), runs.c.state.in_(UNFINISHED))
            run_rows = [dict(row) for row in connection.execute(query).mappings()]
            ids = [row["id"] for row in run_rows]
            step_rows = [
                dict(row)
                for row in connection.execute(
                    select(steps).where(steps.c.run_id.in_(ids))
                ).mappings()
            ]
    except DBAPIError:
        return [], []  # no connection to the old file was left: a new one found no tables
    return run_rows, step_rows


def _carry(connection: Connection, carried: Carried) -> int:
    """Add the runs that the database does not have; how many were added."""
    run_rows, step_rows = carried
    ids = [row["id"] for row in run_rows]
    present = set(connection.scalars(select(RunRecord.id).where(RunRecord.id.in_(ids))))
    new_runs = [row for row in run_rows if row["id"] not in present]
    new_steps = [row for row in step_rows if row["run_id"] not in present]
    if new_runs:
        connection.execute(insert(RunRecord), new_runs)
    if new_steps:
        connection.execute(insert(StepRunRecord), new_steps)
    return len(new_runs)


def _identity(path: Path | None) -> FileIdentity | None:
    if path is None:
        return None
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return (status.st_dev, status.st_ino)


def _sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite database; None for others, and for in-memory or URI ones."""
    if url.get_backend_name() != "sqlite" or "uri" in url.query:
        return None
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        return None
    return Path(url.database).absolute()


def _bad_url(url: str, error: Exception) -> str:
    if isinstance(error, (ArgumentError, ValueError)):
        return (
            f"{SETTING} is not a SQLAlchemy URL: give one such as sqlite:////path/to/orchest.db "
            "or postgresql+psycopg://user@host/database."
        )
    shown = make_url(url).render_as_string(hide_password=True)
    hint = ""
    if isinstance(error, ImportError):
        hint = (
            ": the database's driver is not installed (for PostgreSQL, install "
            "jupyter_orchest[postgresql] and use a postgresql+psycopg:// URL)"
        )
    return f"{SETTING} = {shown} cannot be used ({error}){hint}."


def _enable_sqlite_wal(engine: Engine) -> None:
    # WAL lets the UI read run states while a run writes them.
    @event.listens_for(engine, "connect")
    def set_pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL cannot corrupt the database; a power loss may lose the last
        # state changes only. Without it every state change waits for the disk.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
