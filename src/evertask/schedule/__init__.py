"""Recurring schedules: pure logic, no storage, no workers, no clock (every instant is passed in).

>>> from datetime import time
>>> every().day().at(time(9, 0)).describe()
'every day at 09:00 UTC'
>>> cron("*/15 * * * *").describe()
'cron */15 * * * * (UTC)'
"""

from evertask.schedule.base import Limits, Schedule, Start
from evertask.schedule.cron import CronSchedule, cron
from evertask.schedule.fluent import Every, FluentSchedule, every
from evertask.schedule.serialization import schedule_from_json
from evertask.schedule.units import LAST_DAY, Weekday

MONDAY = Weekday.MONDAY
TUESDAY = Weekday.TUESDAY
WEDNESDAY = Weekday.WEDNESDAY
THURSDAY = Weekday.THURSDAY
FRIDAY = Weekday.FRIDAY
SATURDAY = Weekday.SATURDAY
SUNDAY = Weekday.SUNDAY

__all__ = [
    "FRIDAY",
    "LAST_DAY",
    "MONDAY",
    "SATURDAY",
    "SUNDAY",
    "THURSDAY",
    "TUESDAY",
    "WEDNESDAY",
    "CronSchedule",
    "Every",
    "FluentSchedule",
    "Limits",
    "Schedule",
    "Start",
    "Weekday",
    "cron",
    "every",
    "schedule_from_json",
]
