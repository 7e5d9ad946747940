"""Retry policies: how many more attempts a failed task gets, and how long it waits before each.

A policy is an immutable value; the ``retry_on`` / ``never_on`` / ``when`` methods return a refined copy.
``RetryPolicy.linear(3, d)`` means three retries, so up to four executions (EverTask's meaning). A retry is a
rescheduled attempt: while it waits, no worker slot is held.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from evertask.errors import ConfigurationError, TaskCancelledError

RetryCallback = Callable[[BaseException, int], bool]
"""``(error, attempt) -> retry?``: the last word on whether an attempt that raised ``error`` is retried."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how soon to run a failed task again. Build one with :meth:`linear` or :meth:`exponential`."""

    retries: int
    delay: timedelta
    factor: float = 1.0
    max_delay: timedelta | None = None
    jitter: bool = False
    retry_on_types: tuple[type[BaseException], ...] = ()
    never_on_types: tuple[type[BaseException], ...] = ()
    callback: RetryCallback | None = None

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ConfigurationError(f"retries must be >= 0, got {self.retries}")
        if self.delay < timedelta(0):
            raise ConfigurationError(f"retry delay must not be negative, got {self.delay}")
        if self.factor < 1.0:
            raise ConfigurationError(f"backoff factor must be >= 1, got {self.factor}")

    @classmethod
    def linear(cls, retries: int, delay: timedelta = timedelta(milliseconds=500)) -> RetryPolicy:
        """``retries`` more attempts after the first, each ``delay`` after the previous failure."""
        return cls(retries=retries, delay=delay)

    @classmethod
    def exponential(
        cls,
        retries: int,
        base: timedelta = timedelta(seconds=1),
        *,
        factor: float = 2.0,
        max_delay: timedelta | None = timedelta(minutes=5),
        jitter: bool = True,
    ) -> RetryPolicy:
        """Delays ``base``, ``base*factor``, ``base*factor**2``... capped at ``max_delay``.

        With ``jitter`` each delay is drawn uniformly from [delay/2, delay] so that tasks that failed together
        do not retry together.
        """
        return cls(retries=retries, delay=base, factor=factor, max_delay=max_delay, jitter=jitter)

    @classmethod
    def none(cls) -> RetryPolicy:
        """A single attempt; failures are final."""
        return cls(retries=0, delay=timedelta(0))

    def retry_on(self, *errors: type[BaseException]) -> RetryPolicy:
        """Retry only errors of these types (and their subclasses)."""
        return replace(self, retry_on_types=self.retry_on_types + errors)

    def never_on(self, *errors: type[BaseException]) -> RetryPolicy:
        """Never retry errors of these types, whatever else says."""
        return replace(self, never_on_types=self.never_on_types + errors)

    def when(self, callback: RetryCallback) -> RetryPolicy:
        """Ask ``callback(error, attempt)`` before each retry; False makes the failure final."""
        return replace(self, callback=callback)

    def next_delay(self, attempt: int, error: BaseException) -> timedelta | None:
        """How long to wait before the attempt after ``attempt`` (1-based), or None to give up."""
        if attempt > self.retries or isinstance(error, TaskCancelledError):
            return None
        if self.never_on_types and isinstance(error, self.never_on_types):
            return None
        if self.retry_on_types and not isinstance(error, self.retry_on_types):
            return None
        if self.callback is not None and not self.callback(error, attempt):
            return None
        seconds = self.delay.total_seconds() * self.factor ** (attempt - 1)
        if self.max_delay is not None:
            seconds = min(seconds, self.max_delay.total_seconds())
        if self.jitter:
            seconds = random.uniform(seconds / 2, seconds)
        return timedelta(seconds=seconds)


DEFAULT_RETRY = RetryPolicy.linear(3, timedelta(milliseconds=500))
