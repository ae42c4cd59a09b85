"""remediation plans

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 08:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "remediation_plans",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("finding_id", sa.String(length=32), nullable=False),
        sa.Column("check_id", sa.String(length=128), nullable=False),
        sa.Column("fixer", sa.String(length=128), nullable=False),
        sa.Column("account_name", sa.String(length=64), nullable=False),
        sa.Column("resource_uid", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("plan", JSON, nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_by", sa.String(length=256), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("apply_approval_id", sa.String(length=32), nullable=True),
        sa.Column("result", JSON, nullable=True),
        sa.Column("rolled_back_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rollback_approval_id", sa.String(length=32), nullable=True),
        sa.Column("rollback_result", JSON, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("remediation_plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_remediation_plans_finding_id"), ["finding_id"])
        batch_op.create_index(batch_op.f("ix_remediation_plans_account_name"), ["account_name"])
        batch_op.create_index(batch_op.f("ix_remediation_plans_status"), ["status"])


def downgrade() -> None:
    op.drop_table("remediation_plans")
