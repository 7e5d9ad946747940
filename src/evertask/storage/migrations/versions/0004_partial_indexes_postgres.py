"""PostgreSQL only: the indexes on waiting, running and keyed tasks hold only those tasks.

A B-tree holds NULL keys too, and every UPDATE of a task that changes an indexed column (a claim, a finish)
inserts an entry into every index of the table. As partial indexes, the claim and due indexes hold waiting
tasks only (``claim_queue IS NOT NULL``), the lease index running ones, the key index keyed ones: a task's
life inserts 12 index entries instead of 21. Measured on the throughput bench: the server's CPU per task fell
by about a sixth (about 385 -> 320 us), end to end +10-15%. SQLite and MySQL keep their indexes (SQLite
updates only the indexes whose columns change; MySQL has no partial indexes).

The indexes are rebuilt in the migration's transaction, which blocks writes to the table meanwhile: on a large
table, upgrade (``evertask db upgrade``) while the workers are stopped.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TASKS = "evertask_tasks"
_INDEXES: list[tuple[str, list[str | sa.TextClause], bool, str]] = [
    ("ux_evertask_tasks_key", ["key"], True, "key IS NOT NULL"),
    (
        "ix_evertask_tasks_claim",
        ["claim_queue", sa.text("priority DESC"), "scheduled_at", "seq"],
        False,
        "claim_queue IS NOT NULL",
    ),
    ("ix_evertask_tasks_due", ["claim_queue", "scheduled_at"], False, "claim_queue IS NOT NULL"),
    ("ix_evertask_tasks_lease", ["status", "lease_until"], False, "status = 'in_progress'"),
]


def _rebuild(partial: bool) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    schema = context.config.attributes.get("schema")
    for name, columns, unique, where in _INDEXES:
        op.drop_index(name, table_name=_TASKS, schema=schema)
        predicate = sa.text(where) if partial else None
        op.create_index(name, _TASKS, columns, unique=unique, schema=schema, postgresql_where=predicate)


def upgrade() -> None:
    _rebuild(partial=True)


def downgrade() -> None:
    _rebuild(partial=False)
