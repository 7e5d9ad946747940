"""The attempt rows every backend writes: one per execution of a task, from the outcome that ended it, or a
``lost`` one when recovery finds that the execution's worker died."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from evertask.storage.base import Outcome
from evertask.storage.records import AttemptRecord

LEASE_EXPIRED = "lease expired: worker presumed dead"
"""The error of a recovery that returns a task to pending (history and its ``lost`` attempt row)."""


def ended_attempt(outcome: Outcome, *, claimed_at: datetime | None) -> AttemptRecord:
    """The row of an execution that ``outcome`` ended (its ``ending`` set). A handler start not given falls back
    to the claim's time."""
    return AttemptRecord(
        outcome.id,
        outcome.attempt,
        outcome.run,
        outcome.owner,
        outcome.started_at or claimed_at or outcome.at,
        outcome.at,
        outcome.duration,
        outcome.ending or "completed",
        outcome.error_type,
        outcome.error_message,
        outcome.error,
    )


def lost_attempt(
    task_id: UUID, *, attempt: int, run: int, worker: str | None, claimed_at: datetime | None, now: datetime, error: str
) -> AttemptRecord:
    """The row of an execution whose worker died: it ends when recovery finds it; how long the handler ran is
    unknown (0)."""
    return AttemptRecord(task_id, attempt, run, worker, claimed_at or now, now, 0.0, "lost", None, error, None)
