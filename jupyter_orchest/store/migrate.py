"""Migrating a database's schema to HEAD with Alembic, from the scripts in `migrations/`.

A database made before the schema had versions has the baseline's tables, or some of them:
the baseline keeps those and makes the missing ones, which stamps it with version 0001, and
the migrations after it follow. Processes opening a database at once migrate it one at a
time: the first takes a lock, the others find it migrated.
"""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from .errors import DatabaseUnavailable, too_new
from .schema import HEAD, schema_version

MIGRATIONS = Path(__file__).with_name("migrations")
_POSTGRES_LOCK = 0x6F726368  # any number: the key of the migrations' advisory lock


def alembic_config(connection: Connection) -> Config:
    """Alembic's configuration: our scripts, run on `connection` (see migrations/env.py)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, name: str) -> None:
    """Bring the database to HEAD, in one transaction; DatabaseUnavailable when it was made
    by a newer version of jupyter-orchest."""
    with engine.connect() as connection:
        _lock(connection)
        version = schema_version(connection)
        if version == HEAD:  # another process migrated it meanwhile
            connection.rollback()
            return
        config = alembic_config(connection)
        known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
        if version is not None and version not in known:
            raise DatabaseUnavailable(too_new(name, version, HEAD))
        command.upgrade(config, "head")
        connection.commit()


def _lock(connection: Connection) -> None:
    """Take the database's write lock for this transaction, where the database has one."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _POSTGRES_LOCK})
