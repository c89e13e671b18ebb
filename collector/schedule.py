"""APScheduler triggers for the config's schedules, and how often a schedule fires.

The exporter publishes each connector's period so an alert can say "no success in twice its interval"
for cron schedules too, where the gap between runs is not written anywhere as a number.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from collector.config import ConnectorConfig, Schedule

WEEKDAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def cron_weekdays(field: str) -> str:
    """Crontab weekday numbers (0 or 7 = Sunday) as names: APScheduler 3 counts 0 as Monday."""
    return re.sub(r"(?<![/\d])[0-7](?!\d)", lambda m: WEEKDAY_NAMES[int(m.group())], field)


def trigger_for(target: Schedule | ConnectorConfig, jitter: bool = True) -> IntervalTrigger | CronTrigger:
    schedule = target.schedule if isinstance(target, ConnectorConfig) else target
    seconds = int(schedule.jitter.total_seconds()) if jitter else 0
    if schedule.cron is not None:
        minute, hour, day, month, weekday = schedule.cron.split()
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=cron_weekdays(weekday),
            timezone=UTC,
            jitter=seconds or None,
        )
    return IntervalTrigger(
        seconds=int(schedule.effective_interval.total_seconds()), timezone=UTC, jitter=seconds or None
    )


def period_of(schedule: Schedule, now: datetime) -> timedelta:
    """The gap between runs: the interval, or for a cron schedule the longest gap among its next
    runs (a weekday-only schedule waits over the weekend; alerting on the short gap would page
    every Monday)."""
    if schedule.cron is None:
        return schedule.effective_interval
    trigger = trigger_for(schedule, jitter=False)
    fires: list[datetime] = []
    previous: datetime | None = None
    moment = now
    for _ in range(8):
        fire = trigger.get_next_fire_time(previous, moment)
        if fire is None:
            break
        fires.append(fire)
        previous, moment = fire, fire + timedelta(seconds=1)
    gaps = [b - a for a, b in itertools.pairwise(fires)]
    return max(gaps, default=schedule.effective_interval)
