"""What ran: runs, step runs, jobs and environment builds in a SQL database (SQLite by default,
any SQLAlchemy URL), its schema versioned and migrated when it opens."""

from .database import RunStore
from .environments import BuildRecord, BuildStore
from .errors import DatabaseUnavailable
from .jobs import JobRecord, JobRunRecord, JobStore
from .models import RunRecord, StepRunRecord

__all__ = [
    "BuildRecord",
    "BuildStore",
    "DatabaseUnavailable",
    "JobRecord",
    "JobRunRecord",
    "JobStore",
    "RunRecord",
    "RunStore",
    "StepRunRecord",
]
