"""What operating tasks needs: each attempt's record, handler results, who changed a status, paused queues and
the registry of live workers.

- ``evertask_task_attempts``: one row per execution of a task (its number within the run, the occurrence of a
  recurring series it belongs to, the worker, start, end, duration, how it ended, the error's type, message and
  traceback). Type and queue are copied onto the row so that statistics over a time window read this table alone.
- ``evertask_tasks.result``: a handler's return value as JSON (NULL when it returned None).
- ``evertask_task_history.actor``: who made the change when it was not the engine (an operator, a script).
- ``evertask_queues``: a queue paused here is claimed by no worker, cluster-wide; a queue without a row is running.
- ``evertask_workers``: each live worker's row, written at start and by every heartbeat, removed when it stops
  or is found dead.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import mysql

from evertask.storage.sql.types import TaskId, UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
_MYSQL: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def upgrade() -> None:
    schema = context.config.attributes.get("schema")
    op.add_column("evertask_tasks", sa.Column("result", _LONG_TEXT, nullable=True), schema=schema)
    op.add_column("evertask_task_history", sa.Column("actor", sa.String(200), nullable=True), schema=schema)
    op.create_table(
        "evertask_task_attempts",
        sa.Column("id", _SEQUENCE, primary_key=True, autoincrement=True),
        sa.Column("task_id", TaskId(), nullable=False),
        sa.Column("type", sa.String(255), nullable=False),
        sa.Column("queue", sa.String(200), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("run", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(255), nullable=True),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=False),
        sa.Column("duration", sa.Double(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("error_type", sa.String(255), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("traceback", sa.Text(), nullable=True),
        schema=schema,
        **_MYSQL,
    )
    op.create_index("ix_evertask_task_attempts_task", "evertask_task_attempts", ["task_id", "id"], schema=schema)
    op.create_index("ix_evertask_task_attempts_finished", "evertask_task_attempts", ["finished_at"], schema=schema)
    op.create_table(
        "evertask_queues",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("changed_at", UtcDateTime(), nullable=False),
        sa.Column("changed_by", sa.String(200), nullable=True),
        schema=schema,
        **_MYSQL,
    )
    op.create_table(
        "evertask_workers",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("queues", sa.Text(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("last_heartbeat", UtcDateTime(), nullable=False),
        sa.Column("version", sa.String(50), nullable=False),
        schema=schema,
        **_MYSQL,
    )
    op.create_index("ix_evertask_workers_heartbeat", "evertask_workers", ["last_heartbeat"], schema=schema)


def downgrade() -> None:
    schema = context.config.attributes.get("schema")
    op.drop_table("evertask_workers", schema=schema)
    op.drop_table("evertask_queues", schema=schema)
    op.drop_table("evertask_task_attempts", schema=schema)
    op.drop_column("evertask_task_history", "actor", schema=schema)
    op.drop_column("evertask_tasks", "result", schema=schema)
