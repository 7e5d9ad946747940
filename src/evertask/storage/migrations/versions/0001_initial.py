"""The tasks table and its history.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

A migration is a frozen record of the schema at its revision: it names its tables, columns and indexes itself
instead of reading ``evertask.storage.sql.tables``, which describes the current schema for the queries.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import mysql

from evertask.storage.sql.types import Status, TaskId, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_MYSQL: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
_CLAIM_QUEUE = "CASE WHEN status IN ('pending', 'queued', 'service_stopped') THEN queue END"


def upgrade() -> None:
    schema = context.config.attributes.get("schema")
    op.create_table(
        "evertask_tasks",
        sa.Column("seq", _SEQUENCE, primary_key=True, autoincrement=True),
        sa.Column("id", TaskId(), nullable=False),
        sa.Column("type", sa.String(255), nullable=False),
        sa.Column("payload", sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb"), nullable=False),
        sa.Column("status", Status(), nullable=False),
        sa.Column("queue", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("scheduled_at", UtcDateTime(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(200), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=True),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("schedule", sa.Text(), nullable=True),
        sa.Column("run_count", sa.Integer(), nullable=False),
        sa.Column("last_run_at", UtcDateTime(), nullable=True),
        sa.Column("owner", sa.String(255), nullable=True),
        sa.Column("fence", sa.Integer(), nullable=False),
        sa.Column("lease_until", UtcDateTime(), nullable=True),
        sa.Column("recoveries", sa.Integer(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("claim_queue", sa.String(200), sa.Computed(_CLAIM_QUEUE, persisted=True)),
        schema=schema,
        **_MYSQL,
    )
    op.create_table(
        "evertask_task_history",
        sa.Column("id", _SEQUENCE, primary_key=True, autoincrement=True),
        sa.Column("task_id", TaskId(), nullable=False),
        sa.Column("from_status", Status(), nullable=True),
        sa.Column("to_status", Status(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        schema=schema,
        **_MYSQL,
    )
    tasks, history = "evertask_tasks", "evertask_task_history"
    op.create_index("ux_evertask_tasks_id", tasks, ["id"], unique=True, schema=schema)
    op.create_index(
        "ux_evertask_tasks_key", tasks, ["key"], unique=True, schema=schema, mssql_where=sa.text("[key] IS NOT NULL")
    )
    op.create_index(
        "ix_evertask_tasks_claim",
        tasks,
        ["claim_queue", sa.text("priority DESC"), "scheduled_at", "seq"],
        schema=schema,
    )
    op.create_index("ix_evertask_tasks_due", tasks, ["claim_queue", "scheduled_at"], schema=schema)
    op.create_index("ix_evertask_tasks_lease", tasks, ["status", "lease_until"], schema=schema)
    op.create_index("ix_evertask_tasks_created", tasks, ["created_at", "seq"], schema=schema)
    op.create_index("ix_evertask_task_history_task", history, ["task_id", "id"], schema=schema)


def downgrade() -> None:
    schema = context.config.attributes.get("schema")
    op.drop_table("evertask_task_history", schema=schema)
    op.drop_table("evertask_tasks", schema=schema)
