"""What every backend shares to compute statistics over a time window: checking the window, and the
percentile arithmetic (PostgreSQL's ``percentile_cont``: linear interpolation between the two nearest values),
so that every backend gives the same figures."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from evertask.errors import InvalidFilterError

MAX_BUCKETS: Final = 10_000
"""The most throughput buckets one call returns."""
PERCENTILES: Final = (50, 95, 99)
FAILED_OUTCOMES: Final = ("failed", "retrying")
"""Attempt outcomes counted as failures: the handler raised (for good, or with a retry to come)."""


def check_since(since: datetime) -> None:
    """Refuse a naive start of a window."""
    if since.tzinfo is None:
        raise InvalidFilterError(f"since={since!r} is a naive datetime: give a timezone-aware UTC time")


def bucket_count(since: datetime, until: datetime, width: timedelta) -> int:
    """How many buckets of ``width`` cover ``[since, until)`` (the last may end after ``until``); checks them."""
    check_since(since)
    if until.tzinfo is None:
        raise InvalidFilterError(f"until={until!r} is a naive datetime: give a timezone-aware UTC time")
    if width <= timedelta(0) or width % timedelta(microseconds=1):
        raise InvalidFilterError(f"width={width}: give a positive width in whole microseconds")
    if until < since:
        raise InvalidFilterError(f"until={until.isoformat()} is before since={since.isoformat()}")
    count = -((since - until) // width)  # the ceiling of (until - since) / width
    if count > MAX_BUCKETS:
        raise InvalidFilterError(f"{count} buckets of {width}: at most {MAX_BUCKETS} per call")
    return count


def micros(width: timedelta) -> int:
    """``width`` in whole microseconds."""
    return width // timedelta(microseconds=1)


def rank(count: int, percent: int) -> tuple[int, float]:
    """The 0-based position of the value below the ``percent`` percentile of ``count`` sorted values, and how
    far the percentile lies towards the next one (exact integer arithmetic: the SQL backends compute the same
    position with integer division)."""
    scaled = (count - 1) * percent
    return scaled // 100, (scaled % 100) / 100


def interpolate(low: float, high: float | None, fraction: float) -> float:
    """The percentile between the value at its rank (``low``) and the next one (``high``, None past the end)."""
    return low if high is None or fraction == 0 else low + fraction * (high - low)


def percentile(ordered: list[float], percent: int) -> float | None:
    """The ``percent`` percentile of ``ordered`` (sorted ascending), or None for no values."""
    if not ordered:
        return None
    index, fraction = rank(len(ordered), percent)
    following = ordered[index + 1] if index + 1 < len(ordered) else None
    return interpolate(ordered[index], following, fraction)
