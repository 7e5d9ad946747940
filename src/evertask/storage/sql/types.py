"""Column types that give the same Python values on every dialect: aware UTC datetimes, UUIDs, task statuses.

Each dialect's own types are imported when that dialect compiles a column (its module is loaded by then), not
here: a SQLite process never imports the PostgreSQL, MySQL and SQL Server dialects.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import CHAR, DateTime, Dialect, String, Text, TypeDecorator
from sqlalchemy.types import TypeEngine

from evertask.task import TaskStatus


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, always returned as an aware UTC datetime.

    PostgreSQL stores ``timestamptz``. MySQL/MariaDB (``DATETIME(6)``), SQLite (ISO text) and SQL Server
    (``DATETIME2``) have no time zone in the column, so the value is stored as naive UTC and UTC is re-attached
    when read. A naive datetime passed in is an error, never a guess.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql

            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True))
        if dialect.name in ("mysql", "mariadb"):
            from sqlalchemy.dialects import mysql

            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        if dialect.name == "mssql":
            from sqlalchemy.dialects import mssql

            return dialect.type_descriptor(mssql.DATETIME2(precision=6))  # type: ignore[no-untyped-call]
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: evertask stores timezone-aware UTC times only")
        utc = value.astimezone(UTC)
        return utc if dialect.name == "postgresql" else utc.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value if value.tzinfo is UTC else value.astimezone(UTC)


class TaskId(TypeDecorator[UUID]):
    """A task id: native ``uuid`` on PostgreSQL, ``UNIQUEIDENTIFIER`` on SQL Server, else ``CHAR(36)``.

    The text form keeps the dashes, so an id copied from a log line matches the column as it is.
    """

    impl = CHAR(36)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql

            return dialect.type_descriptor(postgresql.UUID(as_uuid=True))
        if dialect.name == "mssql":
            from sqlalchemy.dialects import mssql

            return dialect.type_descriptor(mssql.UNIQUEIDENTIFIER(as_uuid=True))
        return dialect.type_descriptor(CHAR(36))

    def process_bind_param(self, value: UUID | None, dialect: Dialect) -> Any:
        if value is None or dialect.name in ("postgresql", "mssql"):
            return value
        return str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> UUID | None:
        if value is None or isinstance(value, UUID):
            return value
        return UUID(value)


class Status(TypeDecorator[TaskStatus]):
    """A :class:`TaskStatus`, stored as its name in a short string column (no database enum to migrate)."""

    impl = String(16)
    cache_ok = True

    def process_bind_param(self, value: TaskStatus | None, dialect: Dialect) -> str | None:
        return None if value is None else value.value

    def process_result_value(self, value: str | None, dialect: Dialect) -> TaskStatus | None:
        return None if value is None else TaskStatus(value)


class LongText(TypeDecorator[str]):
    """Text of any length: ``LONGTEXT`` on MySQL/MariaDB (whose ``TEXT`` stops at 64 KiB), ``TEXT`` elsewhere."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            from sqlalchemy.dialects import mysql

            return dialect.type_descriptor(mysql.LONGTEXT())
        return super().load_dialect_impl(dialect)
