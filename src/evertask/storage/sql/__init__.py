"""SQL storage: PostgreSQL, MySQL/MariaDB and SQLite through SQLAlchemy Core (async), with alembic migrations.

Needs the ``sqlite``, ``postgres`` or ``mysql`` extra. See ``docs/storage.md`` for choosing a backend.
"""

from __future__ import annotations

from evertask.storage.sql.migrate import upgrade
from evertask.storage.sql.storage import SqliteStorage, SqlStorage, storage_from_url

__all__ = ["SqlStorage", "SqliteStorage", "storage_from_url", "upgrade"]
