"""Storage backends behind one protocol: :class:`Storage`.

``MemoryStorage`` is always available; ``SqliteStorage`` and ``SqlStorage`` need the ``sqlite``, ``postgres``
or ``mysql`` extra and are imported lazily so that the core install stays light (without the extra, importing them
raises :class:`~evertask.errors.MissingExtraError` naming it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evertask.storage.base import (
    AuditLevel,
    CancelResult,
    ClaimResult,
    HeartbeatResult,
    NewTask,
    Outcome,
    RetentionPolicy,
    Storage,
    TaskQuery,
)
from evertask.storage.memory import MemoryStorage

if TYPE_CHECKING:
    from evertask.storage.sql import SqliteStorage, SqlStorage

__all__ = [
    "AuditLevel",
    "CancelResult",
    "ClaimResult",
    "HeartbeatResult",
    "MemoryStorage",
    "NewTask",
    "Outcome",
    "RetentionPolicy",
    "SqlStorage",
    "SqliteStorage",
    "Storage",
    "TaskQuery",
]


def __getattr__(name: str) -> Any:
    if name in ("SqlStorage", "SqliteStorage"):
        from evertask.storage import sql

        return getattr(sql, name)
    raise AttributeError(f"module 'evertask.storage' has no attribute {name!r}")
