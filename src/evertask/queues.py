"""Named queues: each with its own parallelism, capacity, full-mode and defaults for timeout and retry."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal

from evertask.errors import ConfigurationError
from evertask.limits import MAX_QUEUE_NAME_LENGTH, text_problem
from evertask.retry import RetryPolicy

WhenFull = Literal["wait", "raise", "fallback_to_default", "drop_oldest", "drop_newest"]
WHEN_FULL_MODES: Final = ("wait", "raise", "fallback_to_default", "drop_oldest", "drop_newest")
DROPPING_MODES: Final = ("drop_oldest", "drop_newest")

DEFAULT_QUEUE: Final = "default"
RECURRING_QUEUE: Final = "recurring"


def default_parallelism() -> int:
    """Two executions per CPU, at least four: most tasks wait on I/O."""
    return max(4, 2 * (os.cpu_count() or 1))


def default_capacity() -> int:
    """How many due tasks dispatched here may wait for a slot before dispatch applies back-pressure."""
    return max(1000, 200 * (os.cpu_count() or 1))


@dataclass(frozen=True, slots=True)
class Queue:
    """Settings of one queue. None means "inherit the application's setting".

    ``when_full`` decides what a dispatch does when ``capacity`` due tasks already wait in this process:
    ``wait`` for room (back-pressure; the caller's cancellation ends the wait), ``raise``
    :class:`~evertask.errors.QueueFullError`, ``fallback_to_default`` (send it to the ``default`` queue), or,
    with ``MemoryStorage`` only (dropping durable work would break the promise of durability),
    ``drop_oldest`` / ``drop_newest``: evict the waiting task dispatched first / last to make room. An evicted
    task becomes ``cancelled`` and a :class:`~evertask.events.TaskDropped` event reports it.
    """

    max_parallelism: int | None = None
    capacity: int | None = None
    when_full: WhenFull = "wait"
    default_timeout: timedelta | None = None
    default_retry: RetryPolicy | None = None

    def __post_init__(self) -> None:
        if self.max_parallelism is not None and self.max_parallelism < 1:
            raise ConfigurationError(f"max_parallelism must be >= 1, got {self.max_parallelism}")
        if self.capacity is not None and self.capacity < 1:
            raise ConfigurationError(f"capacity must be >= 1, got {self.capacity}")
        if self.when_full not in WHEN_FULL_MODES:
            raise ConfigurationError(f"unknown when_full {self.when_full!r}: use one of {', '.join(WHEN_FULL_MODES)}")


@dataclass(frozen=True, slots=True)
class ResolvedQueue:
    """A queue's settings with the application's defaults filled in."""

    name: str
    max_parallelism: int
    capacity: int
    when_full: WhenFull
    default_timeout: timedelta | None
    default_retry: RetryPolicy


def resolve_queues(
    queues: dict[str, Queue] | None,
    *,
    max_parallelism: int,
    capacity: int,
    default_timeout: timedelta | None,
    default_retry: RetryPolicy,
) -> dict[str, ResolvedQueue]:
    """Every configured queue plus the built-in ``default`` and ``recurring`` ones, defaults filled in; a name no
    backend could store (see :mod:`evertask.limits`) is a :class:`ConfigurationError`."""
    configured = {DEFAULT_QUEUE: Queue(), RECURRING_QUEUE: Queue(), **(queues or {})}
    for name in configured:
        problem = text_problem(name, MAX_QUEUE_NAME_LENGTH)
        if problem is not None:
            raise ConfigurationError(f"queue name {name!r}: {problem}")
    return {
        name: ResolvedQueue(
            name=name,
            max_parallelism=q.max_parallelism or max_parallelism,
            capacity=q.capacity or capacity,
            when_full=q.when_full,
            default_timeout=q.default_timeout if q.default_timeout is not None else default_timeout,
            default_retry=q.default_retry or default_retry,
        )
        for name, q in configured.items()
    }
