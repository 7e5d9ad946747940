"""Indexes for the operations queries: finished tasks by status, in order of creation and of finish, and the
tasks at rest (finished or paused) by status and queue.

Most stored tasks are finished ones, and those are what operators page through ("the failed ones, newest
first"), retry, purge and count. ``(status, created_at, seq)`` and ``(status, finished_at, seq)`` give each
final status its own ordered run of entries: a page is one index range, however many tasks are stored, and a
bulk action walks its tasks in that order chunk by chunk. ``(status, queue)`` over the tasks at rest lets the
counts per queue and status (the ``status`` command, the dashboard's queue table) read this narrow index for
them; waiting and running tasks are counted through the claim, due and lease indexes, which hold them.

On PostgreSQL and SQLite the three indexes are partial: a waiting or running task has no entry, so
dispatching and claiming pay nothing for them, and a task's life adds three index entries, all written when
it finishes (on PostgreSQL every claim and finish writes a new row version, with an entry in each index it
belongs to). MySQL has no partial indexes: there they hold every task, and a claim and a finish each move a
task's entries.

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
_AT_REST = "status IN ('cancelled', 'completed', 'failed', 'paused')"
_INDEXES = {
    "ix_evertask_tasks_final_created": (["status", "created_at", "seq"], _FINAL),
    "ix_evertask_tasks_final_finished": (["status", "finished_at", "seq"], _FINAL),
    "ix_evertask_tasks_at_rest": (["status", "queue"], _AT_REST),
}


def upgrade() -> None:
    schema = context.config.attributes.get("schema")
    for name, (columns, where) in _INDEXES.items():
        predicate = sa.text(where)
        op.create_index(name, _TASKS, columns, schema=schema, postgresql_where=predicate, sqlite_where=predicate)


def downgrade() -> None:
    schema = context.config.attributes.get("schema")
    for name in _INDEXES:
        op.drop_index(name, table_name=_TASKS, schema=schema)
