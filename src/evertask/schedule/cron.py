"""Cron schedules: ``cron("*/15 * * * *")``, ``cron("0 9 * * MON-FRI", tz="America/New_York")``.

Parsing and matching are cronsim's (the dialect of Debian cron plus ``L``, ``LW`` and ``#``); this module adds
validation, time zones and the DST rule shared with the fluent schedules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Self

from cronsim import CronSim, CronSimError

from evertask.errors import InvalidScheduleError
from evertask.schedule._json import JsonReader
from evertask.schedule.base import Limits, Schedule, Start
from evertask.schedule.zones import wall_to_utc, zone

_FIELDS: Final = "minute hour day-of-month month day-of-week"


@dataclass(frozen=True, kw_only=True)
class CronSchedule(Schedule):
    """A cron expression evaluated in a time zone (default UTC).

    Five fields (minute hour day-of-month month day-of-week) or six, with a leading seconds field. Names
    (``MON``, ``JAN``), ranges, steps and lists are accepted. When both day fields are restricted, a day
    matching either runs; a field starting with ``*`` (``*/2``) counts as unrestricted, as in Debian cron.

    DST: an expression whose hour, minute (and seconds) fields are all specific names wall-clock times, and
    follows the same rule as fluent daily schedules: a time skipped by the spring-forward jump runs at the
    jump, a time repeated at fall-back runs once, at its first occurrence. An expression with ``*`` in
    one of those fields (``*/15 * * * *``, ``0 * * * *``) follows elapsed time instead: it runs at every
    matching local time that exists, including both passes of the repeated hour, so its rhythm never breaks.
    """

    kind = "cron"
    expression: str
    tz: str = "UTC"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.expression, str):
            raise InvalidScheduleError(self.expression, "a cron expression is a string like '*/15 * * * *'")
        fields = self.expression.split()
        if len(fields) not in (5, 6):
            raise InvalidScheduleError(
                self.expression,
                f"a cron expression has 5 fields ({_FIELDS}) or 6 (a leading seconds field), not {len(fields)}",
            )
        object.__setattr__(self, "expression", " ".join(fields))
        try:
            CronSim(self.expression, datetime(2000, 1, 1))
        except CronSimError as error:
            # cronsim names the field: "Bad day-of-week".
            raise InvalidScheduleError(self.expression, f"{str(error).lower()} field") from None
        zone(self.tz)

    @property
    def _wall_clock(self) -> bool:
        """True when seconds, minute and hour are all specific: the expression names times of day."""
        fields = self.expression.split()
        return not any(field.startswith("*") for field in fields[: len(fields) - 3])

    def _occurrence_after(self, after: datetime, anchor: datetime | None) -> datetime | None:
        # Cron has no phase of its own: the anchor is ignored.
        tz = zone(self.tz)
        if not self._wall_clock:
            occurrence = next(CronSim(self.expression, after.astimezone(tz)), None)
            return None if occurrence is None else occurrence.astimezone(UTC)
        # Walk wall-clock matches and map each with the shared DST rule. A match can map to an instant
        # at or before `after` (a repeated time's first pass when `after` is in the second pass, or a
        # skipped time mapped to the jump): keep walking.
        for wall in CronSim(self.expression, after.astimezone(tz).replace(tzinfo=None)):
            occurrence = wall_to_utc(wall, tz)
            if occurrence > after:
                return occurrence
        return None

    def _describe_occurrences(self) -> str:
        return f"cron {self.expression} ({self.tz})"

    def _json_fields(self) -> dict[str, object]:
        return {"expression": self.expression, "tz": self.tz}

    @classmethod
    def _build_from_json(cls, reader: JsonReader, limits: Limits, start: Start) -> Self:
        return cls(expression=reader.text("expression"), tz=reader.text("tz"), limits=limits, start=start)


def cron(expression: str, *, tz: str = "UTC") -> CronSchedule:
    """A cron schedule: 5 fields, or 6 with a leading seconds field, evaluated in ``tz`` (an IANA name)."""
    return CronSchedule(expression=expression, tz=tz)
