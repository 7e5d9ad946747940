"""Rate-limit token buckets shared by every worker process.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op

from evertask.storage.sql.types import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_MYSQL: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def upgrade() -> None:
    schema = context.config.attributes.get("schema")
    op.create_table(
        "evertask_rate_buckets",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("tokens", sa.Double(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("full_at", UtcDateTime(), nullable=False),
        schema=schema,
        **_MYSQL,
    )
    op.create_index("ix_evertask_rate_buckets_full", "evertask_rate_buckets", ["full_at"], schema=schema)


def downgrade() -> None:
    op.drop_table("evertask_rate_buckets", schema=context.config.attributes.get("schema"))
