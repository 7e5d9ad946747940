"""Reading a schedule back from the JSON form :meth:`Schedule.to_json` stored with its task."""

from __future__ import annotations

from typing import Final

from evertask.errors import InvalidScheduleError
from evertask.schedule._json import JsonReader
from evertask.schedule.base import FORMAT_VERSION, Schedule
from evertask.schedule.cron import CronSchedule
from evertask.schedule.fluent import FluentSchedule

_KINDS: Final[dict[str, type[Schedule]]] = {kind.kind: kind for kind in (FluentSchedule, CronSchedule)}


def schedule_from_json(data: object) -> Schedule:
    """The schedule stored as ``data``; anything malformed, unknown or invalid raises InvalidScheduleError.

    ``schedule_from_json(s.to_json()) == s`` for every schedule ``s``.
    """
    reader = JsonReader(data)
    version = reader.integer("version")
    if version != FORMAT_VERSION:
        raise InvalidScheduleError(
            version, f"stored schedule format version {version} is not {FORMAT_VERSION}; is evertask older?"
        )
    kind = reader.text("kind")
    if kind not in _KINDS:
        raise InvalidScheduleError(kind, f"unknown kind of schedule (known: {', '.join(_KINDS)})")
    schedule = _KINDS[kind]._from_json(reader)
    reader.finish()
    return schedule
