"""What every recurring schedule shares: how the series starts, when it ends, and the questions a worker asks.

A schedule is an immutable value: each builder call returns a new one, validated on construction, so a bad
schedule fails where it is written (or where its stored JSON is read), never later inside a worker.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar, Self

from evertask.errors import InvalidScheduleError
from evertask.schedule._json import JsonReader
from evertask.schedule.zones import aware_utc, instant_in_range

FORMAT_VERSION = 1
"""Version of the JSON form returned by :meth:`Schedule.to_json`; bumped only with a migration path."""

MAX_SPAN = timedelta(days=36_525)
"""The longest step or initial delay a schedule accepts (100 years): anything longer is a typo."""


def positive_int(value: object, what: str) -> int:
    """``value`` if it is a whole number >= 1, else InvalidScheduleError naming ``what``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidScheduleError(value, f"{what} must be a whole number >= 1")
    return value


@dataclass(frozen=True)
class Limits:
    """When a series ends: after ``max_runs`` runs, or once the next occurrence would pass ``until``."""

    max_runs: int | None = None
    until: datetime | None = None
    """Inclusive: an occurrence exactly at ``until`` still runs. Held in UTC."""

    def __post_init__(self) -> None:
        if self.max_runs is not None:
            positive_int(self.max_runs, "max_runs")
        if self.until is not None:
            object.__setattr__(self, "until", aware_utc(self.until, "until"))


@dataclass(frozen=True)
class Start:
    """How the first run is chosen; at most one of the three is set (none: the schedule's first occurrence)."""

    now: bool = False
    """Run once at dispatch, then follow the schedule (EverTask's ``RunNow``)."""
    at: datetime | None = None
    """Run first at this instant (held in UTC), then follow the schedule."""
    after: timedelta | None = None
    """Run first this long after dispatch, then follow the schedule."""

    def __post_init__(self) -> None:
        if self.at is not None:
            object.__setattr__(self, "at", instant_in_range(self.at, "starting_at"))
        if self.after is not None and (
            not isinstance(self.after, timedelta) or not timedelta(0) <= self.after <= MAX_SPAN
        ):
            raise InvalidScheduleError(self.after, "starting_after needs a timedelta between 0 and 100 years")
        if sum((self.now, self.at is not None, self.after is not None)) > 1:
            raise InvalidScheduleError(self, "choose one of run_now(), starting_at() and starting_after()")


@dataclass(frozen=True, kw_only=True)
class Schedule(ABC):
    """A recurring schedule: a series of occurrences, computed from instants the caller passes in.

    Every method takes and returns timezone-aware datetimes (results in UTC); a naive one raises
    :class:`~evertask.errors.InvalidScheduleError`. Nothing here reads the clock.
    """

    kind: ClassVar[str]
    limits: Limits = field(default_factory=Limits)
    start: Start = field(default_factory=Start)

    def __post_init__(self) -> None:
        first, until = self.start.at, self.limits.until
        if first is not None and until is not None and first > until:
            raise InvalidScheduleError(until, f"until is before starting_at ({first.isoformat()}): no run left")

    # -- the questions a worker asks ---------------------------------------------------------------------

    def first_run(self, now: datetime) -> datetime | None:
        """When the first occurrence is due for a series dispatched at ``now``; None if it is already over.

        ``run_now()`` gives ``now``; ``starting_after(d)`` gives ``now + d``; ``starting_at(t)`` gives ``t``,
        or, if ``t`` has passed, the series' first occurrence after ``now``; otherwise the schedule's first
        occurrence strictly after ``now``.
        """
        now = instant_in_range(now, "now")
        if self.start.now:
            first: datetime | None = now
        elif self.start.after is not None:
            first = now + self.start.after
        elif self.start.at is not None:
            at = self.start.at
            first = at if at >= now else self._occurrence_after(now, anchor=at)
        else:
            first = self._occurrence_after(now, anchor=None)
        return self._within_until(first)

    def next_run(self, after: datetime, runs_done: int) -> datetime | None:
        """The first occurrence strictly after ``after``, or None once the series is over.

        Pass the previous *scheduled* occurrence (not the time the run finished), so the series never
        drifts. ``runs_done`` counts the runs so far; the series is over when it reaches ``max_runs`` or
        when the next occurrence would pass ``until``.
        """
        after = instant_in_range(after, "after")
        if self._exhausted(runs_done):
            return None
        return self._within_until(self._occurrence_after(after, anchor=after))

    def skip_missed(self, previous: datetime, now: datetime, runs_done: int) -> datetime | None:
        """The next occurrence after ``previous`` that is also strictly after ``now``; None if the series is over.

        For a worker coming back from downtime: occurrences that fell due while nothing ran are skipped in
        one step (no catch-up burst), and the series keeps its phase (an every-10-minutes series started at
        12:03 still runs at :03, :13...). Equal to :meth:`next_run` when nothing was missed.
        """
        previous = instant_in_range(previous, "previous")
        now = instant_in_range(now, "now")
        if self._exhausted(runs_done):
            return None
        return self._within_until(self._occurrence_after(max(previous, now), anchor=previous))

    # -- the builder calls every schedule accepts -------------------------------------------------------

    def max_runs(self, count: int) -> Self:
        """End the series after ``count`` runs (successful or failed; skipped occurrences do not count)."""
        self._not_given_twice(self.limits.max_runs is not None, "max_runs()")
        return dataclasses.replace(self, limits=dataclasses.replace(self.limits, max_runs=count))

    def until(self, end: datetime) -> Self:
        """End the series at ``end`` (an aware datetime): an occurrence exactly at ``end`` still runs."""
        self._not_given_twice(self.limits.until is not None, "until()")
        return dataclasses.replace(self, limits=dataclasses.replace(self.limits, until=end))

    def run_now(self) -> Self:
        """Run once as soon as the series is dispatched, then follow the schedule."""
        return self._with_start(Start(now=True))

    def starting_at(self, first: datetime) -> Self:
        """Run first at ``first`` (an aware datetime), then follow the schedule (and its phase, for intervals)."""
        return self._with_start(Start(at=first))

    def starting_after(self, delay: timedelta) -> Self:
        """Run first ``delay`` after dispatch, then follow the schedule."""
        return self._with_start(Start(after=delay))

    def _with_start(self, start: Start) -> Self:
        self._not_given_twice(self.start != Start(), "the first run (run_now, starting_at, starting_after)")
        return dataclasses.replace(self, start=start)

    def _not_given_twice(self, already_given: bool, what: str) -> None:
        if already_given:
            raise InvalidScheduleError(self.describe(), f"{what} is already set on this schedule")

    # -- text and JSON ----------------------------------------------------------------------------------

    def describe(self) -> str:
        """Short human text for dashboards and logs, e.g. ``every day at 09:00 UTC, at most 3 runs``."""
        parts = [self._describe_occurrences()]
        if self.start.now:
            parts.append("first run now")
        elif self.start.at is not None:
            parts.append(f"first run at {_text(self.start.at)}")
        elif self.start.after is not None:
            parts.append(f"first run after {self.start.after}")
        if self.limits.max_runs is not None:
            parts.append(f"at most {self.limits.max_runs} run{'s' if self.limits.max_runs > 1 else ''}")
        if self.limits.until is not None:
            parts.append(f"until {_text(self.limits.until)}")
        return ", ".join(parts)

    def to_json(self) -> dict[str, object]:
        """The stable, versioned JSON form stored with the task; :func:`schedule_from_json` reads it back."""
        after = self.start.after
        return {
            "version": FORMAT_VERSION,
            "kind": self.kind,
            **self._json_fields(),
            "max_runs": self.limits.max_runs,
            "until": None if self.limits.until is None else self.limits.until.isoformat(),
            "run_now": self.start.now,
            "starting_at": None if self.start.at is None else self.start.at.isoformat(),
            "starting_after": None if after is None else after.total_seconds(),
        }

    @classmethod
    def _from_json(cls, reader: JsonReader) -> Self:
        """Read a schedule of this kind from the fields of its JSON form (envelope already checked)."""
        limits = Limits(reader.optional_integer("max_runs"), reader.optional_datetime("until"))
        start = Start(
            now=reader.flag("run_now"),
            at=reader.optional_datetime("starting_at"),
            after=reader.optional_duration("starting_after"),
        )
        return cls._build_from_json(reader, limits, start)

    # -- what each kind of schedule supplies ------------------------------------------------------------

    @abstractmethod
    def _occurrence_after(self, after: datetime, anchor: datetime | None) -> datetime | None:
        """The first occurrence strictly after ``after`` (UTC), ignoring limits; None if there is none.

        ``anchor`` fixes the phase of schedules that have one (intervals, every N days/weeks/months): an
        instant of the series, or None for the first run, whose phase is chosen by ``after`` itself.
        """

    @abstractmethod
    def _describe_occurrences(self) -> str: ...

    @abstractmethod
    def _json_fields(self) -> dict[str, object]: ...

    @classmethod
    @abstractmethod
    def _build_from_json(cls, reader: JsonReader, limits: Limits, start: Start) -> Self:
        """Build a schedule of this kind from its own JSON fields and the common parts already read."""

    def _exhausted(self, runs_done: int) -> bool:
        if not isinstance(runs_done, int) or isinstance(runs_done, bool) or runs_done < 0:
            raise InvalidScheduleError(runs_done, "runs_done must be a whole number >= 0")
        return self.limits.max_runs is not None and runs_done >= self.limits.max_runs

    def _within_until(self, occurrence: datetime | None) -> datetime | None:
        until = self.limits.until
        return None if occurrence is None or (until is not None and occurrence > until) else occurrence


def _text(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%d %H:%M:%S UTC")
