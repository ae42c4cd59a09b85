"""access grants: the audit calls that requested, delivered and revoked a grant; the
temporary PostgreSQL role of a database grant

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_COLUMNS = ("audit_call_id", "delivered_call_id", "revoked_call_id")


def upgrade() -> None:
    with op.batch_alter_table("access_grants", schema=None) as batch_op:
        for name in _COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("db_role", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_access_grants_db_role"), ["db_role"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("access_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_grants_db_role"))
        batch_op.drop_column("db_role")
        for name in reversed(_COLUMNS):
            batch_op.drop_column(name)
