"""Paused queues on SQL: an operator's setting per queue in ``evertask_queues``, read by every claim.

A queue's row is written by an ``UPDATE`` and, when there was none, an ``INSERT``: two first writes at once race
on the primary key, and the loser's transaction is retried by the caller and updates the winner's row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update

from evertask.storage.records import QueueState
from evertask.storage.sql.tables import queues

_Q = queues.c
_UPDATE = update(queues).where(_Q.name == bindparam("queue"))
_INSERT = insert(queues)
_STATES = select(_Q.name, _Q.paused, _Q.changed_at, _Q.changed_by).order_by(_Q.name)
PAUSED_NAMES = select(_Q.name).where(_Q.paused)
"""The names of the paused queues: a handful of rows at most."""


def set_paused(conn: Connection, queue: str, *, paused: bool, now: datetime, actor: str | None) -> None:
    """Write ``queue``'s setting in the caller's transaction."""
    values = {"paused": paused, "changed_at": now, "changed_by": actor}
    if conn.execute(_UPDATE, values | {"queue": queue}).rowcount == 0:
        conn.execute(_INSERT, values | {"name": queue})


def read_states(conn: Connection) -> list[QueueState]:
    """Every queue's setting, by name."""
    return [QueueState(name, bool(paused), at, by) for name, paused, at, by in conn.execute(_STATES)]


def paused_names(conn: Connection) -> frozenset[str]:
    """The paused queues, read in the caller's transaction."""
    return frozenset(conn.execute(PAUSED_NAMES).scalars())
