"""alembic environment of evertask's schema: runs on the connection evertask.storage.sql.migrate hands over."""

from __future__ import annotations

from alembic import context

from evertask.storage.sql.tables import VERSION_TABLE

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "evertask's migrations run through evertask.storage.sql.upgrade(url) or `evertask db upgrade --url URL`"
    )
context.configure(
    connection=connection,
    version_table=VERSION_TABLE,
    version_table_schema=context.config.attributes.get("schema"),
)
with context.begin_transaction():
    context.run_migrations()
