"""The schema's version, read with one plain query when a database opens: Alembic, slow to
import, is loaded only when a database needs migrating (see `migrate`)."""

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

HEAD = "0003"
"""The newest migration in `migrations/versions` (a test holds the two together)."""
VERSION_TABLE = "alembic_version"


def schema_version(connection: Connection) -> str | None:
    """The database's schema version; None when it has none (it is new, or was made before
    the schema had versions)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    version: str | None = connection.execute(
        text(f"SELECT version_num FROM {VERSION_TABLE}")
    ).scalar()
    return version


def ensure_schema(engine: Engine, name: str) -> None:
    """Bring the database's schema to HEAD; `name` says which database in errors."""
    with engine.connect() as connection:
        version = schema_version(connection)
    if version != HEAD:
        from .migrate import migrate

        migrate(engine, name)
