"""PostgreSQL only: notify listening workers of new tasks, whoever inserts them.

A statement-level trigger sends one NOTIFY per queue per INSERT statement (a batch of 500 tasks costs one
notification), on the channel ``evertask_<schema>`` with the queue name as payload. Other dialects have no
LISTEN/NOTIFY; their workers find new tasks within their poll interval.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import context, op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _names() -> tuple[str, str]:
    schema = context.config.attributes.get("schema")
    prefix = f'"{schema}".' if schema else ""
    return prefix, f"evertask_{schema or 'public'}"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    prefix, channel = _names()
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION {prefix}evertask_notify_new_tasks() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{channel}', queue) FROM (SELECT DISTINCT queue FROM inserted) AS queues;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER evertask_notify_new_tasks AFTER INSERT ON {prefix}evertask_tasks
        REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT
        EXECUTE FUNCTION {prefix}evertask_notify_new_tasks()
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    prefix, _ = _names()
    op.execute(f"DROP TRIGGER IF EXISTS evertask_notify_new_tasks ON {prefix}evertask_tasks")
    op.execute(f"DROP FUNCTION IF EXISTS {prefix}evertask_notify_new_tasks()")
