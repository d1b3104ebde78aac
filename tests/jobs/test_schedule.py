from datetime import datetime, timedelta, timezone

import pytest

from jupyter_orchest.jobs.schedule import CronSchedule, ScheduleError

UTC = timezone.utc


def test_slots_are_computed_in_the_schedules_time_zone() -> None:
    schedule = CronSchedule.parse("0 6 * * *", "Europe/Paris")

    # 06:00 in Paris is 05:00 UTC in winter and 04:00 UTC in summer.
    assert schedule.upcoming(datetime(2026, 3, 28, tzinfo=UTC), 2) == [
        datetime(2026, 3, 28, 5, tzinfo=UTC),
        datetime(2026, 3, 29, 4, tzinfo=UTC),
    ]


def test_a_slot_is_due_from_its_time_on_and_not_before() -> None:
    schedule = CronSchedule.parse("*/5 * * * *")
    slot = datetime(2026, 1, 1, 12, 5, tzinfo=UTC)

    assert schedule.latest_due(slot, slot - timedelta(seconds=1)) is None
    assert schedule.latest_due(slot, slot) == slot
    assert schedule.latest_due(slot, slot + timedelta(minutes=4)) == slot


def test_after_downtime_only_the_latest_missed_slot_is_due() -> None:
    schedule = CronSchedule.parse("* * * * *")
    missed_from = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    now = missed_from + timedelta(days=3, seconds=30)

    latest = schedule.latest_due(missed_from, now)

    assert latest == datetime(2026, 1, 4, 12, 0, tzinfo=UTC)
    assert latest is not None and schedule.next_after(now) > now


@pytest.mark.parametrize(
    ("expression", "zone", "message"),
    [
        ("61 * * * *", "UTC", "not a valid cron schedule"),
        ("every day", "UTC", "not a valid cron schedule"),
        (5, "UTC", "not a valid cron schedule"),
        ("* * * * *", "Mars/Olympus", "Unknown time zone 'Mars/Olympus'"),
        ("* * * * *", "", "must be a name"),
    ],
)
def test_bad_schedules_are_refused_clearly(expression: object, zone: object, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        CronSchedule.parse(expression, zone)
