"""audit: call_id links a call's 'started' record to its outcome record

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 07:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("call_id", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_audit_records_call_id"), ["call_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_records_call_id"))
        batch_op.drop_column("call_id")
