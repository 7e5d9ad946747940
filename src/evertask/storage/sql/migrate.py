"""Schema migrations: the alembic scripts shipped in ``evertask/storage/migrations``, run from code.

No ``alembic.ini`` is involved: the configuration is built here and the connection handed to ``env.py``.
alembic's version table is ``evertask_alembic_version``, beside evertask's tables (in ``schema`` if given), so it
never meets an application's own ``alembic_version``. An upgrade is safe when several processes start at once:
it holds a PostgreSQL advisory lock (MySQL: a named ``GET_LOCK``; SQLite: the ``BEGIN IMMEDIATE`` write lock)
while it creates the schema and runs the scripts, and a database already at the head is left untouched.

A database already at the head costs one read and no alembic import (alembic and its templates take about as long
to import as the rest of a worker's start-up): the head is read from the scripts' text, the database's revision
from the version table with a plain SELECT, and alembic is imported only when there is something to migrate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from sqlalchemy import Column, Connection, MetaData, String, Table, select, text
from sqlalchemy.engine import URL
from sqlalchemy.schema import CreateSchema

from evertask.errors import StorageSchemaError
from evertask.storage.sql.database import Database
from evertask.storage.sql.tables import VERSION_TABLE

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_PG_LOCK_KEY = int.from_bytes(b"evertask")  # one advisory lock id for every evertask upgrade in a database
_MYSQL_LOCK = "evertask_migrations"
_MYSQL_LOCK_WAIT_S = 120


_REVISION = re.compile(r"""^revision\b[^=\n]*=\s*["']([^"']+)["']""", re.M)
_DOWN_REVISION = re.compile(r"""^down_revision\b[^=\n]*=\s*(?:["']([^"']+)["']|None)""", re.M)


@cache
def head_revision() -> str:
    """The newest revision the shipped scripts know: the one no other script names as its ``down_revision``
    (read from the scripts' text; ``tests/contract/test_sql_schema.py`` checks it is alembic's head)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in MIGRATIONS.joinpath("versions").glob("*.py"):
        source = script.read_text()
        revision, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if revision is None or down is None:
            raise RuntimeError(f"{script} names no revision and down_revision")
        revisions.add(revision[1])
        if down[1] is not None:
            parents.add(down[1])
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the migration scripts in {MIGRATIONS} have {len(heads)} heads, not one: {sorted(heads)}")
    return heads.pop()


def current_revision(connection: Connection, schema: str | None) -> str | None:
    """The revision the database is at (None: evertask's tables were never created there); several rows (which
    evertask never writes) come back joined, so that they never look current."""
    if not connection.dialect.has_table(connection, VERSION_TABLE, schema=schema):
        return None
    version = Table(VERSION_TABLE, MetaData(), Column("version_num", String(32)), schema=schema)
    found = connection.execute(select(version.c.version_num)).scalars().all()
    return ",".join(sorted(found)) or None


def _upgrade(connection: Connection, schema: str | None) -> None:
    if current_revision(connection, schema) == head_revision():
        return  # another process migrated it meanwhile
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes.update(connection=connection, schema=schema)
    with _exclusive(connection):
        if schema is not None:
            connection.execute(CreateSchema(schema, if_not_exists=True))
        command.upgrade(config, "head")


@contextmanager
def _exclusive(connection: Connection) -> Iterator[None]:
    """Hold the database's migration lock (SQLite's writer already holds the whole database)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        # Released by the COMMIT that ends the upgrade; a second process then finds the head and stops.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        yield
    elif dialect in ("mysql", "mariadb"):
        # MySQL commits each DDL statement by itself, so the lock is a session lock held around the scripts.
        wait = {"name": _MYSQL_LOCK, "seconds": _MYSQL_LOCK_WAIT_S}
        if connection.execute(text("SELECT GET_LOCK(:name, :seconds)"), wait).scalar() != 1:
            raise TimeoutError(f"another process held {_MYSQL_LOCK!r} for {_MYSQL_LOCK_WAIT_S} s")
        try:
            yield
        finally:
            connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": _MYSQL_LOCK})
    else:
        yield


async def migrate(db: Database) -> None:
    """Bring ``db``'s schema to the head revision (one read, and nothing else, when it is there already)."""
    if await db.read(lambda conn: current_revision(conn, db.schema)) == head_revision():
        return
    from alembic.util import CommandError

    try:
        await db.write(lambda conn: _upgrade(conn, db.schema), idempotent=True)
    except CommandError as exc:
        raise StorageSchemaError(db.shown_url, f"{exc} (written by a newer evertask?)") from exc


async def check_schema(db: Database) -> None:
    """Raise :class:`StorageSchemaError` unless ``db`` is at the head revision (for ``auto_migrate=False``)."""
    revision = await db.read(lambda conn: current_revision(conn, db.schema))
    if revision != head_revision():
        found = "no evertask tables" if revision is None else f"revision {revision}"
        raise StorageSchemaError(
            db.shown_url,
            f"found {found}, this evertask needs {head_revision()}: run `evertask db upgrade --url URL` "
            "or open the storage with auto_migrate=True",
        )


async def upgrade(url: str | URL, schema: str | None = None) -> None:
    """Create or migrate evertask's tables in the database at ``url`` (what ``evertask db upgrade`` runs).

    ``schema``: a PostgreSQL schema (created if missing); on MySQL/MariaDB a database on the same server.
    Raises :class:`~evertask.errors.StorageUnavailableError` if the database cannot be reached.
    """
    db = Database(url, schema=schema, pool_size=1)
    await db.start()
    try:
        await migrate(db)
    finally:
        await db.stop()
