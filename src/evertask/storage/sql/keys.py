"""``add``: a batch of new tasks in one transaction, with the task-key rules.

The rules are decided in Python (:func:`plan_add`, pure) from the keyed tasks already stored, which the
transaction has locked; the plan is then written with one statement per kind of change. Two transactions that
insert one new key race on the unique index: the loser's transaction fails and is retried by the caller, and
the retry finds the winner's row and applies the rules to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, bindparam, delete, insert, select

from evertask.storage.base import NewTask
from evertask.storage.sql.attempt_rows import delete_attempts
from evertask.storage.sql.tables import UPDATE_BY_ID, HistoryWriter, for_update, task_history, tasks
from evertask.task import TaskStatus

Existing = dict[str, tuple[UUID, TaskStatus]]
"""Stored tasks by key: their id and status."""

_REPLACED_FIELDS = ("payload", "queue", "priority", "schedule", "scheduled_at")

INSERT_TASKS = insert(tasks)
_SELECT_KEYED = for_update(
    select(tasks.c["key"], tasks.c.id, tasks.c.status).where(tasks.c["key"].in_(bindparam("keys", expanding=True)))
)
_DELETE_HISTORY = delete(task_history).where(task_history.c.task_id.in_(bindparam("ids", expanding=True)))
_DELETE_TASKS = delete(tasks).where(tasks.c.id.in_(bindparam("ids", expanding=True)))


@dataclass(slots=True)
class AddPlan:
    """What one ``add`` writes: rows to insert, waiting rows to update in place, final rows to delete."""

    ids: list[UUID] = field(default_factory=list)
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    deletes: list[UUID] = field(default_factory=list)


def plan_add(new: Sequence[NewTask], existing: Existing, history: HistoryWriter) -> AddPlan:
    """Apply the key rules of :meth:`Storage.add` to ``new`` in order, as if added one by one.

    A task whose key was taken earlier in the same batch finds that (waiting) task and replaces it in place,
    exactly as a second ``add`` would.
    """
    plan = AddPlan()
    stored = dict(existing)
    holders: dict[str, tuple[UUID, dict[str, Any]]] = {}  # key -> the id and the insert or update row holding it
    for task in new:
        key = task.key or None
        holder = holders.get(key) if key else None
        if key and holder is None and key in stored:
            task_id, status = stored[key]
            if status is TaskStatus.in_progress:
                plan.ids.append(task_id)
                continue
            if status.is_final:
                plan.deletes.append(task_id)
                del stored[key]
            else:
                holder = holders[key] = (task_id, {"target": task_id, "status": status})
                plan.updates.append(holder[1])
        if holder is not None:
            _replace(*holder, task, history)
            plan.ids.append(holder[0])
            continue
        row = _row(task, key)
        history.record(task.id, None, task.status, task.created_at)
        plan.inserts.append(row)
        plan.ids.append(task.id)
        if key:
            holders[key] = (task.id, row)
    return plan


def _replace(task_id: UUID, row: dict[str, Any], task: NewTask, history: HistoryWriter) -> None:
    previous: TaskStatus = row["status"]
    row.update((name, getattr(task, name)) for name in _REPLACED_FIELDS)
    if previous is not TaskStatus.paused:  # a paused series stays paused until resumed
        row["status"] = task.status
    if previous is not row["status"]:
        history.record(task_id, previous, row["status"], task.created_at)


def _row(task: NewTask, key: str | None) -> dict[str, Any]:
    return {
        "id": task.id,
        "type": task.type,
        "payload": task.payload,
        "status": task.status,
        "queue": task.queue,
        "created_at": task.created_at,
        "scheduled_at": task.scheduled_at,
        "priority": task.priority,
        "key": key,
        "schedule": task.schedule,
        "attempts": 0,
        "run_count": 0,
        "fence": 0,
        "recoveries": 0,
        "cancel_requested": False,
    }


def add_tasks(conn: Connection, new: Sequence[NewTask], history: HistoryWriter) -> list[UUID]:
    """Store ``new`` in the caller's transaction; see :func:`plan_add`."""
    keys = sorted({task.key for task in new if task.key})  # sorted: every transaction locks in one order
    existing: Existing = {}
    if keys:
        found = conn.execute(_SELECT_KEYED, {"keys": keys})
        existing = {key: (task_id, status) for key, task_id, status in found}
    plan = plan_add(new, existing, history)
    if plan.deletes:
        conn.execute(_DELETE_HISTORY, {"ids": plan.deletes})
        delete_attempts(conn, plan.deletes)
        conn.execute(_DELETE_TASKS, {"ids": plan.deletes})
    if plan.updates:
        conn.execute(UPDATE_BY_ID, plan.updates)
    if plan.inserts:
        conn.execute(INSERT_TASKS, plan.inserts)
    history.write(conn)
    return plan.ids
