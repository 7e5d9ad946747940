"""Rate-limit reservations: the slot each deferred task reserved, so that it runs on it without taking again.

The buckets keep their table; their state is now read from ``full_at`` alone (GCRA's theoretical arrival
time), which the previous revision already wrote with that meaning, so existing rows carry over as they are.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op

from evertask.storage.sql.types import TaskId, UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_MYSQL: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def upgrade() -> None:
    schema = context.config.attributes.get("schema")
    op.create_table(
        "evertask_rate_reservations",
        sa.Column("bucket", sa.String(255), primary_key=True),
        sa.Column("holder", TaskId(), primary_key=True),
        sa.Column("slot", UtcDateTime(), nullable=False),
        schema=schema,
        **_MYSQL,
    )
    op.create_index("ix_evertask_rate_reservations_slot", "evertask_rate_reservations", ["slot"], schema=schema)


def downgrade() -> None:
    op.drop_table("evertask_rate_reservations", schema=context.config.attributes.get("schema"))
