"""The next run of a recurring task, and the policy for runs missed while nothing was running.

Missed runs: if the app was down while occurrences fell due, the overdue row runs once when a worker starts,
and the series then continues from the first occurrence after now; the missed ones are not replayed one by
one (a daily report that was down for a week runs once, not seven times).
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache

from evertask.schedule import Schedule, schedule_from_json
from evertask.task import TaskRecord


@lru_cache(maxsize=1024)
def load_schedule(text: str) -> Schedule:
    """The schedule stored as JSON text (parsed once per distinct text: it is read at every run)."""
    return schedule_from_json(json.loads(text))


def next_occurrence(record: TaskRecord, now: datetime) -> datetime | None:
    """When the series of ``record`` runs next after the run that just ended, or None if it is over."""
    if record.schedule is None:
        return None
    schedule = load_schedule(record.schedule)
    runs_done = record.run_count + 1
    following = schedule.next_run(record.scheduled_at, runs_done)
    if following is not None and following <= now:
        following = schedule.next_run(now, runs_done)
    return following
