"""What ran: runs, step runs, jobs and environment builds in a SQL database (SQLite by default,
any SQLAlchemy URL)."""

from .database import RunStore
from .environments import BuildRecord, BuildStore
from .jobs import JobRecord, JobRunRecord, JobStore
from .models import RunRecord, StepRunRecord

__all__ = [
    "BuildRecord",
    "BuildStore",
    "JobRecord",
    "JobRunRecord",
    "JobStore",
    "RunRecord",
    "RunStore",
    "StepRunRecord",
]
