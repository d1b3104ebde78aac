"""What ran: runs and step runs in a SQL database (SQLite by default, any SQLAlchemy URL)."""

from .database import RunStore
from .models import RunRecord, StepRunRecord

__all__ = ["RunRecord", "RunStore", "StepRunRecord"]
