"""Keyed rate limits: a token bucket per (task type, key), shared through storage by every worker process.

An attempt over budget is not run: with ``when_exceeded="wait"`` it goes back to storage, due when the next
token is, without holding a worker slot (tasks of other keys keep flowing); with ``"discard"`` it fails with
a clear reason (for a recurring task, that occurrence is skipped and the series goes on). Every attempt,
retries included, takes a token.
"""

from __future__ import annotations

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

    def __post_init__(self) -> None:
        if self.permits < 1:
            raise ConfigurationError(f"rate limit permits must be >= 1, got {self.permits}")
        if self.per <= timedelta(0):
            raise ConfigurationError(f"rate limit period must be positive, got {self.per}")
        if self.burst is not None and self.burst < 1:
            raise ConfigurationError(f"rate limit burst must be >= 1, got {self.burst}")
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


@dataclass(frozen=True, slots=True)
class Bucket:
    """A token bucket's state: ``tokens`` as of ``updated_at``."""

    tokens: float
    updated_at: datetime


def take_token(bucket: Bucket | None, *, now: datetime, rate: float, capacity: int) -> tuple[Bucket, float]:
    """Take one token at ``now``: the bucket afterwards, and 0.0 if a token was taken, else the seconds until
    one will be there (and nothing is taken). A missing bucket is a full one."""
    if bucket is None:
        tokens = float(capacity)
    else:
        elapsed = max(0.0, (now - bucket.updated_at).total_seconds())
        tokens = min(float(capacity), bucket.tokens + elapsed * rate)
    if tokens >= 1.0:
        return Bucket(tokens - 1.0, now), 0.0
    return Bucket(tokens, now), (1.0 - tokens) / rate
