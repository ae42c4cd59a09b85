"""guardrails: activated policies

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guardrail_activations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("package", sa.String(length=256), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=True),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("activated_by", sa.String(length=256), nullable=False),
        sa.Column("approval_id", sa.String(length=32), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deactivated_by", sa.String(length=256), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("guardrail_activations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_guardrail_activations_package"), ["package"])


def downgrade() -> None:
    op.drop_table("guardrail_activations")
