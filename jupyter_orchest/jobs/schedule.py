"""Cron schedules in a time zone: when a scheduled job's runs are due.

A schedule fires at most once for a period the server missed (it was stopped, or busy): on
the first check after downtime, the latest slot that passed fires, once, and the next slot
comes after now. The caller records each fired slot, so that a slot never fires twice.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

Clock = Callable[[], datetime]
"""Now, as an aware datetime; tests pass a clock they move by hand."""


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


class ScheduleError(ValueError):
    """A cron string or time zone that cannot be used; the message says why."""


@dataclass(frozen=True)
class CronSchedule:
    expression: str
    timezone: str = "UTC"

    @classmethod
    def parse(cls, expression: object, zone: object = "UTC") -> "CronSchedule":
        if not isinstance(expression, str) or not croniter.is_valid(expression.strip()):
            raise ScheduleError(
                f"{expression!r} is not a valid cron schedule: give five fields, "
                "minute hour day-of-month month day-of-week, e.g. '0 6 * * 1-5' "
                "for 06:00 on weekdays."
            )
        if not isinstance(zone, str) or not zone:
            raise ScheduleError("The time zone must be a name such as 'UTC' or 'Europe/Paris'.")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ScheduleError(
                f"Unknown time zone {zone!r}: use a name such as 'UTC' or 'Europe/Paris'."
            ) from None
        return cls(expression.strip(), zone)

    def next_after(self, moment: datetime) -> datetime:
        """The first slot strictly after `moment`, in UTC."""
        local = moment.astimezone(ZoneInfo(self.timezone))
        following: datetime = croniter(self.expression, local).get_next(datetime)
        return following.astimezone(timezone.utc)

    def upcoming(self, moment: datetime, count: int) -> list[datetime]:
        """The next `count` slots after `moment`, in UTC."""
        slots = []
        for _ in range(count):
            moment = self.next_after(moment)
            slots.append(moment)
        return slots

    def latest_due(self, due_at: datetime, now: datetime) -> datetime | None:
        """The slot to fire now, given the next slot that was due (`due_at`): the latest slot
        at or before `now`, or None when `due_at` has not come yet."""
        if now < due_at:
            return None
        # The latest slot at or before now: the one before the instant just after now.
        local = (now + timedelta(microseconds=1)).astimezone(ZoneInfo(self.timezone))
        latest: datetime = croniter(self.expression, local).get_prev(datetime)
        return latest.astimezone(timezone.utc)
