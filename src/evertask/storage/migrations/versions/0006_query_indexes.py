"""Indexes for the operations queries: finished tasks by status, in order of creation and of finish.

Most stored tasks are finished ones, and those are what operators page through ("the failed ones, newest
first"), retry and purge. ``(status, created_at, seq)`` and ``(status, finished_at, seq)`` give each final
status its own ordered run of entries: a page is one index range, however many tasks are stored, and a bulk
action walks its tasks in that order chunk by chunk. Waiting and running tasks are found by the indexes that
exist for claims (claim, due, lease) and by ``ix_evertask_tasks_created``.

On PostgreSQL and SQLite the two indexes are partial (``WHERE status IN ('cancelled', 'completed',
'failed')``): a waiting or running task has no entry, so dispatching and claiming pay nothing for them, and
a task's life adds two index entries, both written when it finishes. MySQL has no partial indexes: there they
hold every task, and a claim and a finish each move a task's two entries.

The indexes are built in the migration's transaction, which blocks writes to the table meanwhile: on a large
table, upgrade (``evertask db upgrade``) while the workers are stopped.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TASKS = "evertask_tasks"
_FINAL = "status IN ('cancelled', 'completed', 'failed')"
_INDEXES = {
    "ix_evertask_tasks_final_created": ["status", "created_at", "seq"],
    "ix_evertask_tasks_final_finished": ["status", "finished_at", "seq"],
}


def upgrade() -> None:
    schema = context.config.attributes.get("schema")
    final = sa.text(_FINAL)
    for name, columns in _INDEXES.items():
        op.create_index(name, _TASKS, columns, schema=schema, postgresql_where=final, sqlite_where=final)


def downgrade() -> None:
    schema = context.config.attributes.get("schema")
    for name in _INDEXES:
        op.drop_index(name, table_name=_TASKS, schema=schema)
