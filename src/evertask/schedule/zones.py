"""Instants and time zones: the checks and the one wall-clock-to-UTC rule every schedule shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from evertask.errors import InvalidScheduleError

# Schedules compute from instants in this range. The upper bound leaves room for the longest step (100 years)
# and cron's 50-year search, so no computation ever runs past datetime's year 9999.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def aware_utc(value: object, what: str) -> datetime:
    """``value`` as a UTC datetime; anything but a timezone-aware datetime raises InvalidScheduleError."""
    if not isinstance(value, datetime):
        raise InvalidScheduleError(value, f"{what} must be a datetime, not {type(value).__name__}")
    if value.utcoffset() is None:
        raise InvalidScheduleError(
            value, f"{what} must be timezone-aware (a naive datetime is ambiguous; use tzinfo=UTC)"
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidScheduleError(value, f"{what} is outside the range of datetime") from None


def instant_in_range(value: object, what: str) -> datetime:
    """Like :func:`aware_utc`, and the instant must lie between years 1900 and 9000 (UTC)."""
    instant = aware_utc(value, what)
    if not EARLIEST <= instant < LATEST:
        raise InvalidScheduleError(value, f"{what} must lie between years 1900 and 9000")
    return instant


def zone(name: object) -> tzinfo:
    """The time zone of an IANA name ("UTC", "Europe/Rome"); an unknown name raises InvalidScheduleError."""
    if not isinstance(name, str):
        raise InvalidScheduleError(name, "a time zone is an IANA name such as 'Europe/Rome'")
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidScheduleError(name, "unknown time zone (use an IANA name such as 'Europe/Rome')") from None


def wall_to_utc(wall: datetime, tz: tzinfo) -> datetime:
    """The instant at which the naive wall-clock time ``wall`` happens in ``tz``.

    The DST rule of every wall-clock schedule, the one cron daemons follow (Debian cron, cronsim):
    - a time repeated when clocks fall back happens once, at its first occurrence (``fold=0``);
    - a time skipped when clocks spring forward happens at the first valid instant after it, the moment
      of the jump (02:30 on a 02:00 -> 03:00 night runs at 03:00), so a daily job is never lost.
    """
    if tz is UTC:
        return wall.replace(tzinfo=UTC)
    later = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if later.astimezone(tz).replace(tzinfo=None) == wall:
        return later
    # In the gap, fold=0 reads the wall time with the offset from before the jump and fold=1 with the one
    # after, which brackets the jump; bisect to the first second with the new offset.
    earlier = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    offset_after = later.astimezone(tz).utcoffset()
    while later - earlier > timedelta(seconds=1):
        middle = earlier + timedelta(seconds=(later - earlier) // timedelta(seconds=2))
        if middle.astimezone(tz).utcoffset() == offset_after:
            later = middle
        else:
            earlier = middle
    return later
