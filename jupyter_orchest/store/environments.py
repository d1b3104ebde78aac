"""The builds table: one row per build of an environment, whatever backend made it."""

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Integer, String, Text, UniqueConstraint, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from ..environments.model import BuildState
from .database import RunStore
from .models import Base, UTCDateTime
from .owners import process_is_gone, this_process

UNFINISHED = [BuildState.PENDING.value, BuildState.BUILDING.value]


class BuildRecord(Base):
    __tablename__ = "environment_builds"
    # A build number is given once per environment, even by processes building at once.
    __table_args__ = (UniqueConstraint("project_dir", "environment_uuid", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_dir: Mapped[str] = mapped_column(Text, index=True)
    """The project whose environment it is, absolute."""
    environment_uuid: Mapped[str] = mapped_column(String(255))
    number: Mapped[int] = mapped_column(Integer)
    backend: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    reference: Mapped[str] = mapped_column(Text, default="")
    """Where the backend finds what it built (see BuiltEnvironment.reference)."""
    fingerprint: Mapped[str] = mapped_column(String(128), default="")
    inputs_hash: Mapped[str] = mapped_column(String(64))
    """What the build was made from: see `environments.builds.inputs_hash`."""
    message: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(255), default="")
    """`host:pid` of the process building it, to tell a build under way from one whose
    process died."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    """When what it made was removed (superseded by a newer build); never used again."""


class BuildStore:
    """Builds, in the runs' database."""

    def __init__(self, runs: RunStore) -> None:
        self.database = runs.database

    def add_build(
        self, project_dir: str, environment_uuid: str, backend: str, inputs_hash: str
    ) -> BuildRecord:
        """A new PENDING build with the environment's next number."""
        while True:
            try:
                with self.database.write() as session:
                    last = session.scalar(
                        select(func.max(BuildRecord.number)).where(
                            BuildRecord.project_dir == project_dir,
                            BuildRecord.environment_uuid == environment_uuid,
                        )
                    )
                    build = BuildRecord(
                        project_dir=project_dir,
                        environment_uuid=environment_uuid,
                        number=(last or 0) + 1,
                        backend=backend,
                        state=BuildState.PENDING.value,
                        inputs_hash=inputs_hash,
                        owner=this_process(),
                        created_at=datetime.now(timezone.utc),
                    )
                    session.add(build)
                return build
            except IntegrityError:
                continue  # another process took that number meanwhile

    def update_build(self, build_id: int, **values: Any) -> BuildRecord | None:
        with self.database.write() as session:
            build = session.get(BuildRecord, build_id)
            if build is not None:
                for name, value in values.items():
                    setattr(build, name, value)
            return build

    def get_build(self, project_dir: str, environment_uuid: str, number: int) -> BuildRecord | None:
        query = select(BuildRecord).where(
            BuildRecord.project_dir == project_dir,
            BuildRecord.environment_uuid == environment_uuid,
            BuildRecord.number == number,
        )
        with self.database.read() as session:
            return session.scalar(query)

    def list_builds(self, project_dir: str, environment_uuid: str) -> list[BuildRecord]:
        """Newest first."""
        query = (
            select(BuildRecord)
            .where(
                BuildRecord.project_dir == project_dir,
                BuildRecord.environment_uuid == environment_uuid,
            )
            .order_by(BuildRecord.number.desc())
        )
        with self.database.read() as session:
            return list(session.scalars(query))

    def latest_success(
        self,
        project_dir: str,
        environment_uuid: str,
        backend: str,
        inputs_hash: str | None = None,
    ) -> BuildRecord | None:
        """The newest successful build that is still there, made from these inputs if given."""
        query = select(BuildRecord).where(
            BuildRecord.project_dir == project_dir,
            BuildRecord.environment_uuid == environment_uuid,
            BuildRecord.backend == backend,
            BuildRecord.state == BuildState.SUCCESS.value,
            BuildRecord.removed_at.is_(None),
        )
        if inputs_hash is not None:
            query = query.where(BuildRecord.inputs_hash == inputs_hash)
        with self.database.read() as session:
            return session.scalar(query.order_by(BuildRecord.number.desc()).limit(1))

    def delete_builds(self, project_dir: str, environment_uuid: str) -> None:
        with self.database.write() as session:
            session.execute(
                delete(BuildRecord).where(
                    BuildRecord.project_dir == project_dir,
                    BuildRecord.environment_uuid == environment_uuid,
                )
            )

    def abort_orphaned(self, reason: str) -> list[BuildRecord]:
        """Mark builds whose process ended before they did as aborted, with the reason."""
        now = datetime.now(timezone.utc)
        with self.database.write() as session:
            unfinished = session.scalars(
                select(BuildRecord).where(BuildRecord.state.in_(UNFINISHED))
            )
            orphaned = [build for build in unfinished if process_is_gone(build.owner)]
            for build in orphaned:
                build.state, build.message = BuildState.ABORTED.value, reason
                build.finished_at = now
            return orphaned
