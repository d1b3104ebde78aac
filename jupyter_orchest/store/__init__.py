"""What ran: runs and step runs in a SQL database (SQLite by default, any SQLAlchemy URL)."""

from .database import RunStore
from .jobs import JobRecord, JobRunRecord, JobStore
from .models import RunRecord, StepRunRecord

__all__ = ["JobRecord", "JobRunRecord", "JobStore", "RunRecord", "RunStore", "StepRunRecord"]
