"""SQL storage: PostgreSQL, MySQL/MariaDB and SQLite through SQLAlchemy Core (async), with alembic migrations.

Needs the ``sqlite``, ``postgres`` or ``mysql`` extra. See ``docs/storage.md`` for choosing a backend. The names
below are imported on first use, after checking the extra is installed: without it, importing one raises
:class:`~evertask.errors.MissingExtraError` naming the extra (``storage_from_url`` checks the extra of the URL it
is given).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evertask.storage.urls import require_backend, storage_from_url

if TYPE_CHECKING:
    from evertask.storage.sql.migrate import upgrade
    from evertask.storage.sql.storage import SqliteStorage, SqlStorage

__all__ = ["SqlStorage", "SqliteStorage", "storage_from_url", "upgrade"]

_HOMES = {"SqlStorage": ("storage", None), "SqliteStorage": ("storage", "sqlite"), "upgrade": ("migrate", None)}
"""Where each lazily imported name lives, and the backend whose extra it needs (None: any SQL extra)."""


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'evertask.storage.sql' has no attribute {name!r}")
    module, backend = _HOMES[name]
    require_backend(backend)
    from importlib import import_module

    return getattr(import_module(f"evertask.storage.sql.{module}"), name)
