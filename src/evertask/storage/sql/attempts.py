"""One attempt at a transaction: its body, how far it got, and the runners that carry it out.

What a failed attempt may have left behind depends on its stage, so the retry rules of
:class:`~.database.Database` read it from :class:`Progress` after the failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, TypeVar

from sqlalchemy.engine import Connection

T = TypeVar("T")
Work = Callable[[Connection], T]
"""A transaction body: runs on a connection, inside the transaction its runner opened."""


class Stage(Enum):
    """How far an attempt got: what a failure may have left behind depends on it."""

    connect = "connect"
    work = "work"
    commit = "commit"


@dataclass(slots=True)
class Progress:
    """The stage an attempt reached, readable after it failed, and how long it may wait for a lock."""

    stage: Stage = Stage.connect
    lock_deadline: float | None = None
    """``time.monotonic()`` past which a write waiting for SQLite's lock gives up (None: the storage's bound)."""


def run_transaction(conn: Connection, work: Work[T], transaction: bool, progress: Progress) -> T:
    """Run ``work`` on ``conn``, in a transaction committed after it if ``transaction``."""
    progress.stage = Stage.work
    if not transaction:
        return work(conn)
    trans = conn.begin()
    result = work(conn)
    progress.stage = Stage.commit
    trans.commit()
    return result


class Runner(Protocol):
    """Runs one attempt of a body on a connection of its own, in a transaction if asked."""

    async def __call__(self, work: Work[T], *, transaction: bool, progress: Progress) -> T: ...
