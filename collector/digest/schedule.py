"""The APScheduler trigger of a digest schedule: a crontab line read in the schedule's time zone."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from collector.digest.config import DigestSchedule
from collector.schedule import cron_weekdays


def cron_trigger(cron: str, timezone: str) -> CronTrigger:
    """A trigger for a 5-field crontab expression; raises ValueError for a field APScheduler refuses."""
    minute, hour, day, month, weekday = cron.split()
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=cron_weekdays(weekday),  # crontab counts from Sunday, APScheduler from Monday
        timezone=ZoneInfo(timezone),
    )


def digest_trigger(schedule: DigestSchedule) -> CronTrigger:
    return cron_trigger(schedule.cron, schedule.timezone)
