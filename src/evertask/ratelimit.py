"""Keyed rate limits: a bucket per (task type, key), shared through storage by every worker process.

An attempt over budget is not run: with ``when_exceeded="wait"`` it reserves the next free slot of its bucket
and goes back to storage, due at that slot, without holding a worker slot (tasks of other keys keep flowing);
at its slot it runs on its reservation, without taking again, so tasks of one key run in the order they were
first attempted, each deferred once. With ``"discard"`` it fails with a clear reason (for a recurring task,
that occurrence is skipped and the series goes on). Every attempt, retries included, takes a permit.

The arithmetic is GCRA (the generic cell rate algorithm), which is a token bucket kept as one time: the
bucket's theoretical arrival time, when it would be full again had nothing more been taken. Each permit
taken or reserved moves it on by one emission interval (``1 / rate``); a take conforms while it is at most
``capacity - 1`` intervals ahead of now, and otherwise the slot it would conform at is the one reserved.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from evertask.errors import ConfigurationError

WhenExceeded = Literal["wait", "discard"]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``permits`` attempts ``per`` period for each key, with bursts of up to ``burst``.

    ``key`` maps a task to the key it is limited under (e.g. ``lambda t: t.tenant_id``); without it, all tasks
    of the handler share one budget.
    """

    permits: int
    per: timedelta
    burst: int | None = None
    key: Callable[[Any], object] | None = None
    when_exceeded: WhenExceeded = "wait"
    horizon: timedelta = timedelta(hours=1)
    """How far ahead a deferred attempt may reserve its slot (``"wait"`` only). A task that would wait longer
    is deferred without a reservation until the reserved slots have run out, and then tries again."""

    def __post_init__(self) -> None:
        if self.permits < 1:
            raise ConfigurationError(f"rate limit permits must be >= 1, got {self.permits}")
        if self.per <= timedelta(0):
            raise ConfigurationError(f"rate limit period must be positive, got {self.per}")
        if self.burst is not None and self.burst < 1:
            raise ConfigurationError(f"rate limit burst must be >= 1, got {self.burst}")
        if self.horizon <= timedelta(0):
            raise ConfigurationError(f"rate limit horizon must be positive, got {self.horizon}")
        if self.when_exceeded not in ("wait", "discard"):
            raise ConfigurationError(f"when_exceeded must be 'wait' or 'discard', got {self.when_exceeded!r}")

    @property
    def rate(self) -> float:
        """Tokens added per second."""
        return self.permits / self.per.total_seconds()

    @property
    def capacity(self) -> int:
        """The most tokens a bucket holds (the largest burst)."""
        return self.burst if self.burst is not None else self.permits

    def bucket_for(self, task_type: str, task: Any) -> str:
        """The name of the bucket ``task`` draws from."""
        return task_type if self.key is None else f"{task_type}:{self.key(task)}"


RESERVATION_TTL = timedelta(days=1)
"""How long after its slot a reservation is kept: a holder back later than that takes a permit anew."""


@dataclass(frozen=True, slots=True)
class Bucket:
    """A bucket's state: ``full_at``, its theoretical arrival time (when it is full again unless more is taken)."""

    full_at: datetime


@dataclass(frozen=True, slots=True)
class Take:
    """What one take decided: the bucket afterwards (the same object if it did not move), the seconds to wait
    (0.0: go ahead), and the slot now reserved for the holder (None: it holds none)."""

    bucket: Bucket | None
    wait: float
    reserved: datetime | None = None


def take_token(
    bucket: Bucket | None,
    reserved: datetime | None = None,
    *,
    now: datetime,
    rate: float,
    capacity: int,
    horizon: float = 0.0,
) -> Take:
    """Take one permit at ``now`` for a holder that has reserved the slot ``reserved`` (or None). A missing
    bucket is a full one.

    A holder back for its slot runs on it (wait 0.0, the bucket unchanged: it paid when it reserved), and one
    back early is told to wait for the same slot. Otherwise a permit is taken if the bucket conforms; if not,
    the wait for the next free slot is returned, and that slot is reserved (the bucket moves on) if it is at
    most ``horizon`` seconds away. With ``horizon`` 0 nothing is ever reserved.
    """
    if reserved is not None and now - reserved <= RESERVATION_TTL:
        if reserved <= now:
            return Take(bucket, 0.0)
        return Take(bucket, (reserved - now).total_seconds(), reserved)
    # Times are kept in microseconds: round the interval up, so that the limit is never exceeded by rounding
    # (to the nanosecond first, so that float noise in 1e6 / rate does not add a microsecond).
    interval = timedelta(microseconds=max(1, math.ceil(round(1e6 / rate, 3))))
    arrival = now if bucket is None or bucket.full_at < now else bucket.full_at
    slot = arrival - interval * (capacity - 1)
    if slot <= now:
        return Take(Bucket(arrival + interval), 0.0)
    wait = (slot - now).total_seconds()
    if wait > horizon:
        return Take(bucket, wait)
    return Take(Bucket(arrival + interval), wait, slot)
