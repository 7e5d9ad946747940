"""The task-key rules of :meth:`~evertask.storage.base.Storage.add`, decided in one place for every backend."""

from __future__ import annotations

import logging
from typing import Literal
from uuid import UUID

from evertask.storage.base import NewTask
from evertask.task import TaskStatus

logger = logging.getLogger("evertask.storage")

KeyAction = Literal["keep", "update", "replace"]
"""Keep the stored task unchanged (its id is returned), update it in place, or replace it with the new task."""


def on_taken_key(new: NewTask, holder: UUID, status: TaskStatus, recurring: bool) -> KeyAction:
    """What ``add`` does with ``new`` when its key is held by the stored task ``holder`` in ``status``
    (``recurring``: it has a schedule)."""
    if status is TaskStatus.in_progress:
        return "keep"
    if status.is_final:
        return "replace"
    if recurring and new.schedule is None:
        # EverTask's rule: a one-shot dispatch must not end a series that start-up code registered under its key.
        logger.warning(
            "dispatch of %s with key %r ignored: the key belongs to recurring task %s, and a recurring task never "
            "becomes a one-shot (use another key, or cancel the series first)",
            new.type,
            new.key,
            holder,
            extra={"task_id": str(holder), "task_type": new.type},
        )
        return "keep"
    return "update"
